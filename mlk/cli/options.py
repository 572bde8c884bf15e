"""Shared options: az's global flags on every command, and `-f/--set` for commands that read YAML.

az accepts `-o`, `--query`, `--verbose`, `--debug` and `--only-show-errors` after any command, so every
command registered through `command()` gets them appended to its signature; they configure the console
before the command body runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from mlk.cli.console import FORMATS, console
from mlk.cli.presenter import present

F = TypeVar("F", bound=Callable[..., Any])

GLOBAL_HELP = "Global options"
_GLOBALS = {
    "output": (
        Annotated[
            str | None,
            typer.Option(
                "--output",
                "-o",
                metavar="FORMAT",
                rich_help_panel=GLOBAL_HELP,
                help="Output format: " + "|".join(FORMATS) + ".",
            ),
        ],
        None,
    ),
    "query": (
        Annotated[
            str | None,
            typer.Option(
                "--query",
                metavar="JMESPATH",
                rich_help_panel=GLOBAL_HELP,
                help="JMESPath query applied to the result, as in az.",
            ),
        ],
        None,
    ),
    "verbose": (
        Annotated[
            bool, typer.Option("--verbose", rich_help_panel=GLOBAL_HELP, help="Say more about what is happening.")
        ],
        False,
    ),
    "debug": (
        Annotated[
            bool,
            typer.Option("--debug", rich_help_panel=GLOBAL_HELP, help="Everything --verbose says, and tracebacks."),
        ],
        False,
    ),
    "only_show_errors": (
        Annotated[
            bool, typer.Option("--only-show-errors", rich_help_panel=GLOBAL_HELP, help="Show errors only; no warnings.")
        ],
        False,
    ),
    "resource_group": (
        Annotated[
            str | None,
            typer.Option(
                "--resource-group",
                "-g",
                metavar="GROUP",
                rich_help_panel=GLOBAL_HELP,
                help="Accepted for az's scripts and ignored: mlk has no resource groups.",
            ),
        ],
        None,
    ),
    "workspace": (
        Annotated[
            str | None,
            typer.Option(
                "--workspace",
                "--workspace-name",
                "-w",
                metavar="NAME",
                rich_help_panel=GLOBAL_HELP,
                help="Workspace (default: $MLK_WORKSPACE, mlk configure's default, or the current one).",
            ),
        ],
        None,
    ),
}

# Options for commands that read YAML files, named and spelled as az ml spells them.
Files = Annotated[list[Path] | None, typer.Option("--file", "-f", metavar="FILE", help="YAML file (az ml format).")]
Name = Annotated[str | None, typer.Option("--name", "-n", help="Name (overrides the file's).")]
EndpointName = Annotated[
    str | None, typer.Option("--endpoint-name", "--endpoint", "-e", help="The endpoint (overrides the file's).")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Return at once; do not wait for the operation to finish.")]
Local = Annotated[
    bool,
    typer.Option(
        "--local",
        help="An endpoint on this machine with Azure's local-endpoint rules: no key on 127.0.0.1, its one "
        "deployment answers without traffic rules.",
    ),
]
SetValues = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a field of the file: dotted path, list index, JSON value (e.g. instance_count=2).",
    ),
]


# az's generic update arguments (mlk.cli.app packs the words after --add/--remove into one JSON list).
Add = Annotated[
    list[str] | None,
    typer.Option("--add", metavar="PATH VALUE...", help="Add to a list (or mapping): --add tags owner=ana."),
]
Remove = Annotated[
    list[str] | None,
    typer.Option("--remove", metavar="PATH [INDEX]", help="Remove a field, or a list item: --remove tags.owner."),
]
ForceString = Annotated[
    bool, typer.Option("--force-string", help="Keep --set/--add values as strings; do not read them as JSON.")
]


def with_global_options(fn: F) -> F:
    """Append az's global options to `fn`'s signature and apply them before it runs."""
    signature = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            console.configure(**{name: kwargs.pop(name) for name in _GLOBALS})
            if console.settings.resource_group:
                console.verbose(
                    f"--resource-group {console.settings.resource_group}: ignored (mlk has no resource groups)"
                )
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (Exception, KeyboardInterrupt) as exc:  # the presenter decides what the user sees
            raise typer.Exit(present(exc, console)) from exc

    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _GLOBALS.items()
    ]
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**fn.__annotations__, **{n: a for n, (a, _) in _GLOBALS.items()}}
    return wrapper  # type: ignore[return-value]


def command(app: typer.Typer, name: str, **kwargs: Any) -> Callable[[F], F]:
    """Register `fn` as `name` on `app`, with the global options."""

    def register(fn: F) -> F:
        app.command(name, **kwargs)(with_global_options(fn))
        return fn

    return register
