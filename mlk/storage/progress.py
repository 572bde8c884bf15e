"""A rich progress bar that stores take as `on_progress` (bytes done); rich is imported only when a bar
is actually shown, and every transfer also works with on_progress=None.

    with progress_bar(manifest.size, "uploading model-1") as advance:
        upload_tree(store, path, manifest, advance)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mlk.storage.base import ProgressFn

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def progress_bar(
    total: int, description: str, *, console: Console | None = None, transient: bool = False
) -> Iterator[ProgressFn]:
    """Show a bar of `total` bytes while the block runs; yields the callback that advances it.

    The callback is thread-safe (rich locks its task table), so parallel transfers may call it directly.
    On a console that is not a terminal, rich draws nothing until the bar is done.
    """
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    if console is None:  # progress is a message, never output: `-o json | jq` reads stdout (NO_COLOR: rich's own)
        from rich.console import Console

        console = Console(stderr=True)
    with Progress(*columns, console=console, transient=transient) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        yield advance
