"""The command tree. Each noun lives in its own module and registers itself here once it works.

Command modules import only what `--help` needs; their heavy imports sit inside the command bodies.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mlk import __version__
from mlk.cli import router, serve, validate
from mlk.cli.console import Settings, console
from mlk.cli.options import with_global_options

HELP = """Azure ML's Kubernetes online endpoints, without Azure.

Run the az ml commands you know, with the same YAML and score.py, against any Kubernetes cluster
or this machine. Exit codes: 0 ok, 1 error, 2 invalid input, 3 not found, 4 conflict, 5 timeout,
6 a component mlk drives failed.
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlk {__version__}")
        raise typer.Exit()


def build() -> typer.Typer:
    console.settings = Settings()  # one process may run several commands (tests)
    app = typer.Typer(
        name="mlk",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode=None,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def root(
        version: Annotated[
            bool, typer.Option("--version", callback=_version, is_eager=True, help="Print mlk's version and exit.")
        ] = False,
    ) -> None:
        """Global options given here apply to the command that follows."""

    app.callback()(with_global_options(root))
    validate.register(app)
    serve.register(app)
    router.register(app)
    return app
