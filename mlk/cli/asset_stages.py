"""`mlk model|environment archive|restore` and the listing flags they come with, as az ml has them: an
archived version leaves `list` (unless --include-archived or --archived-only) but a deployment that names
it still works; archive without --version or --label takes every version of the name."""

# no `from __future__ import annotations`: typer reads the options of register()'s commands from their
# annotations, which name aliases local to register()
from typing import Annotated

import typer

from mlk.cli.console import console
from mlk.cli.options import command

IncludeArchived = Annotated[
    bool, typer.Option("--include-archived", help="List archived versions as well as active ones.")
]
ArchivedOnly = Annotated[bool, typer.Option("--archived-only", help="List archived versions only.")]


def archived_filter(include_archived: bool, archived_only: bool) -> bool | None:
    """What assets.listing takes: False (active only, the default), True (archived only) or None (all)."""
    if include_archived and archived_only:
        from mlk.errors import UsageError

        raise UsageError("give --include-archived or --archived-only, not both")
    return True if archived_only else None if include_archived else False


def register(group: typer.Typer, kind: str) -> None:
    """Add archive and restore to `group`, the command group of `kind` (models, environments)."""
    noun = kind.removesuffix("s")

    def change(name: str, version: str | None, label: str | None, to: str) -> None:
        from mlk.workspace import assets
        from mlk.workspace.home import open_workspace

        ws = open_workspace(console.settings.workspace)
        changed = assets.set_stage(ws, kind, name, version, label, to)
        console.info(f"{noun} '{name}' version {', '.join(changed)}: {to}")

    Name = Annotated[str, typer.Option("--name", "-n", help=f"The {noun}'s name.")]
    Version = Annotated[str | None, typer.Option("--version", "-v", help="One version (default: all of them).")]
    Label = Annotated[str | None, typer.Option("--label", "-l", help="The version with this label (latest).")]

    @command(group, "archive", help=f"Archive a {noun} version (or all): hidden from list, still usable.")
    def archive(name: Name, version: Version = None, label: Label = None) -> None:
        from mlk.workspace.assets import ARCHIVED

        change(name, version, label, ARCHIVED)

    @command(group, "restore", help=f"Restore an archived {noun} version (or all).")
    def restore(name: Name, version: Version = None, label: Label = None) -> None:
        from mlk.workspace.assets import ACTIVE

        change(name, version, label, ACTIVE)
