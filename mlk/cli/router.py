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
    max_body_size: Annotated[
        int | None,
        typer.Option(
            "--max-body-size",
            metavar="BYTES",
            min=1,
            help="Larger request bodies get 413 from the router itself (default 100 MiB, as mlk serve).",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            "--max-connections",
            min=1,
            help="Open client connections at most (default 4096, within the open-file limit); more get 503.",
        ),
    ] = None,
) -> None:
    """Runs until SIGTERM/SIGINT (requests in flight finish); an invalid file is reported and refused."""
    from mlk.http import Limits
    from mlk.router.main import run
    from mlk.router.sources import StaticFileSource

    limits = Limits.given(max_body_bytes=max_body_size, max_connections=max_connections)
    raise typer.Exit(run(StaticFileSource(config), host, port, access_log=not no_access_log, limits=limits))
