"""`mlk serve`: azmlinfsrv's command line, serving a score.py with mlk's faster server.

Flags are azmlinfsrv's, in both spellings (--entry_script / --entry-script). Not supported yet:
--config_file, --health_port (SEPERATE_HEALTH_ENDPOINT), --appinsights_instrumentation_key.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mlk.cli.options import command


def register(app: typer.Typer) -> None:
    command(app, "serve", help="Serve a score.py as azmlinfsrv does (GET /, POST /score, /swagger.json).")(serve)


def serve(
    entry_script: Annotated[
        str | None,
        typer.Option(
            "--entry_script", "--entry-script", metavar="PATH", help="The score.py (default: $AZUREML_ENTRY_SCRIPT)."
        ),
    ] = None,
    model_dir: Annotated[
        str | None,
        typer.Option("--model_dir", "--model-dir", metavar="DIR", help="Sets AZUREML_MODEL_DIR for the script."),
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on (default 5001).")] = None,
    worker_count: Annotated[
        int | None,
        typer.Option(
            "--worker_count", "--worker-count", metavar="N", help="Worker processes (default $WORKER_COUNT or 1)."
        ),
    ] = None,
    cors: Annotated[
        str | None,
        typer.Option(
            "--access_control_allow_origins",
            "--access-control-allow-origins",
            metavar="ORIGINS",
            help="Comma-separated CORS origins.",
        ),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 0.0.0.0).")] = None,
    max_body_size: Annotated[
        int | None,
        typer.Option("--max-body-size", metavar="BYTES", help="Larger request bodies get 413 (default 100 MiB)."),
    ] = None,
    run_concurrency: Annotated[
        int | None,
        typer.Option(
            "--run-concurrency",
            metavar="N",
            help="Threads calling run() at once per worker (default 1: score.py globals are not thread-safe).",
        ),
    ] = None,
) -> None:
    """Exit code 3 when the script cannot start (no init/run, init() raised), as azmlinfsrv."""
    from mlk.server.main import serve as run_server
    from mlk.server.settings import from_sources

    settings = from_sources(
        entry_script=entry_script,
        model_dir=model_dir,
        port=port,
        worker_count=worker_count,
        cors_origins=cors,
        host=host,
        max_body_bytes=max_body_size,
        run_concurrency=run_concurrency,
    )
    code = run_server(settings)
    if code:
        raise typer.Exit(code)
