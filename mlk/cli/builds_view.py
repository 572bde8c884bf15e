"""Image builds as the terminal shows them: the current step and its last lines, live (rich); on a pipe,
one line per step. The full output is never lost: a failure prints the failing step's last lines."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from mlk.cli.console import console

TAIL = 6


@contextmanager
def live_lines(title: str) -> Iterator[Callable[[list[str]], None]]:
    """A callback taking build output lines, drawn as a live panel on a terminal, steps only otherwise."""
    if not console.err.isatty():

        def steps(lines: list[str]) -> None:
            for line in lines:
                if line.startswith("Step "):
                    console.info(f"  {line[:150]}")

        yield steps
        return
    from rich.console import Console, Group
    from rich.live import Live
    from rich.text import Text

    recent: deque[str] = deque(maxlen=TAIL)
    state = {"step": title}

    def view() -> Group:
        return Group(Text(state["step"][:200], style="bold"), *(Text(f"  {r[:200]}", style="dim") for r in recent))

    with Live(view(), console=Console(file=console.err), transient=True, refresh_per_second=8) as live:

        def update(lines: list[str]) -> None:
            for line in lines:
                if line.startswith("Step "):
                    state["step"] = line
                    recent.clear()
                else:
                    recent.append(line)
            live.update(view())

        yield update


def build_live(
    ws: Any,
    definition: Mapping[str, Any],
    *,
    builder: str | None = None,
    pull: str | None = None,
    push: bool = False,
    ca_certs: Sequence[str] | None = None,
) -> dict[str, Any]:
    from mlk.workspace import builds

    with live_lines("building the environment's image") as on_lines:
        result = builds.ensure_image(
            ws,
            definition,
            say=console.info,
            on_lines=on_lines,
            builder=builder,
            pull=pull,
            push=push,
            ca_certs=ca_certs,
        )
    console.info(f"image {result.describe()}")
    return {
        "image": result.reference,
        "tag": result.tag,
        "builder": result.builder,
        "reason": result.reason,
        "reused": result.reused,
        "seconds": round(result.seconds, 2),
        "pushed": result.pushed,
        "identity": result.identity,
    }
