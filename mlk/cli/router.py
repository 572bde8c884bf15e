"""`mlk router`: the inference router (azureml-fe's job) serving a static configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlk.cli.options import command


def register(app: typer.Typer) -> None:
    command(
        app,
        "router",
        help="Route /api/v1/endpoint/<endpoint>/score to deployments' replicas (auth, "
        "traffic split, queueing, timeouts).",
    )(router)


def router(
    config: Annotated[
        Path,
        typer.Option(
            "--config", "-c", metavar="FILE", help="Router configuration (YAML; reloaded on change and on SIGHUP)."
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    no_access_log: Annotated[bool, typer.Option("--no-access-log", help="No line per request.")] = False,
) -> None:
    """Runs until SIGTERM/SIGINT (requests in flight finish); an invalid file is reported and refused."""
    from mlk.router.main import run
    from mlk.router.sources import StaticFileSource

    raise typer.Exit(run(StaticFileSource(config), host, port, access_log=not no_access_log))
