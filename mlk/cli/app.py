"""The command tree. Each noun lives in its own module and registers itself here once it works.

Command modules import only what `--help` needs; their heavy imports sit inside the command bodies. Typer
inspects every registered command when it starts, so only the noun being run is registered in full; the
others appear with their help line only (as az's command index does), which keeps `mlk --help` fast.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Sequence
from typing import Annotated

import typer

from mlk import __version__
from mlk.cli import configure_cmd, examples, router, serve, validate
from mlk.cli.console import Settings, console
from mlk.cli.options import with_global_options

HELP = """Azure ML's Kubernetes online endpoints, without Azure.

Run the az ml commands you know, with the same YAML and score.py, against any Kubernetes cluster
or this machine. Exit codes: 0 ok, 1 error, 2 invalid input, 3 not found, 4 conflict, 5 timeout,
6 a component mlk drives failed.
"""


# noun → (module, the module's Typer attribute, one-line help)
NOUNS = {
    "online-endpoint": (
        "mlk.cli.online_endpoint",
        "app",
        "Online endpoints: create, update traffic, invoke, get credentials, delete.",
    ),
    "online-deployment": (
        "mlk.cli.online_deployment",
        "app",
        "Online deployments: create (and route traffic), update, logs, delete.",
    ),
    "model": ("mlk.cli.assets_cmd", "models", "Models: files or folders, content-hashed and versioned."),
    "environment": (
        "mlk.cli.assets_cmd",
        "environments",
        "Environments: an image plus a conda file, or a Docker build context.",
    ),
    "job": ("mlk.cli.job_cmd", "app", "Jobs: run a command job (distributed too), follow it, download its outputs."),
    "data": ("mlk.cli.data_cmd", "app", "Data assets: uri_file and uri_folder, content-hashed and versioned."),
    "compute": ("mlk.cli.compute_cmd", "app", "Computes: attach a Kubernetes cluster and namespace to the workspace."),
    "extension": ("mlk.cli.extension_cmd", "app", "The Kubernetes extension: CRDs, operator, router, GPU plugins."),
    "workspace": (
        "mlk.cli.workspace_cmd",
        "app",
        "Workspaces: storage (a local folder or Azure Blob Storage), assets, endpoints.",
    ),
}
COMPLETION_VARIABLE = "_MLK_COMPLETE"
"""Set by the completion scripts typer installs: the whole command tree is registered to answer them."""
_VALUED = {"-o", "--output", "--query", "-w", "--workspace", "--workspace-name", "-g", "--resource-group"}
"""The global options that take a value (a noun never follows them directly)."""

_MULTI = {
    "--config",
    "--configuration-settings",
    "--config-protected",
    "--configuration-protected-settings",
    "--set",
}
"""Options az lets take several `key=value` words after one flag."""
_WORDS = {"--add", "--remove"}
"""az's generic update options, whose value is every word up to the next option (`--add tags owner=ana`)."""
_NUMBER = re.compile(r"-\d")


def expand_multi(argv: Sequence[str]) -> list[str]:
    """az's multi-word options for click: `--config a=1 b=2` → `--config a=1 --config b=2`, and
    `--add PATH V1 V2` → `--add '["PATH","V1","V2"]'` (mlk.cli.specs_input reads the list back)."""
    out: list[str] = []
    current: str | None = None
    words: list[str] | None = None
    for arg in argv:
        if words is not None:
            if not arg.startswith("-") or _NUMBER.match(arg):
                words.append(arg)
                continue
            out.append(json.dumps(words))
            words = None
        if arg in _WORDS:
            out.append(arg)
            words = []
            current = None
            continue
        if arg in _MULTI:
            current = arg
        elif current is not None and not arg.startswith("-") and "=" in arg:
            if out and out[-1] != current:
                out.append(current)
            out.append(arg)
            continue
        else:
            current = None
        out.append(arg)
    if words is not None:
        out.append(json.dumps(words))
    return out


def requested_noun(argv: Sequence[str]) -> str | None:
    """The first word of the command line that is not an option (nor a global option's value)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlk {__version__}")
        raise typer.Exit()


def build(argv: Sequence[str] | None = None) -> typer.Typer:
    """The app; with `argv`, only the noun it names is registered in full (None: all of them)."""
    console.settings = Settings()  # one process may run several commands (tests)
    app = typer.Typer(
        name="mlk",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode=None,
        add_completion=True,  # --install-completion / --show-completion: bash, zsh, fish, PowerShell
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
    configure_cmd.register(app)
    serve.register(app)
    router.register(app)
    complete_all = argv is None or COMPLETION_VARIABLE in os.environ  # a shell asks what may come next
    wanted = None if complete_all or argv is None else requested_noun(argv)
    for noun, (module, attribute, help_text) in NOUNS.items():
        if complete_all or noun == wanted:
            sub = getattr(importlib.import_module(module), attribute)
            sub.info.help = help_text
            examples.attach(noun, sub)
        else:
            sub = typer.Typer(help=help_text)
        app.add_typer(sub, name=noun)
    return app
