"""`mlk serve`: start the score.py server (the embedded default's replicas and every inference image)."""

from __future__ import annotations

import logging
import os

from mlk.http.logbuffer import configure_logging
from mlk.server.settings import ServerSettings


def banner(settings: ServerSettings) -> str:
    return "\n".join(
        [
            "",
            "mlk inference server (azmlinfsrv-compatible)",
            "",
            f"Entry Script Name: {settings.entry_script}",
            f"Model Directory: {settings.model_dir}",
            f"Worker Count: {settings.worker_count}",
            f"Worker Timeout (seconds): {settings.worker_timeout_s}",
            f"Scoring Timeout (ms): {settings.scoring_timeout_ms}",
            f"Server Port: {settings.port}",
            f"CORS for the specified origins: {', '.join(settings.cors_origins) or None}",
            "",
            f"Liveness Probe: GET   {settings.host}:{settings.port}/",
            f"Readiness:      GET   {settings.host}:{settings.port}/readyz",
            f"Score:          POST  {settings.host}:{settings.port}/score",
            f"Metrics:        GET   {settings.host}:{settings.port}/metrics",
            "",
        ]
    )


def serve(settings: ServerSettings) -> int:
    """Run until SIGTERM/SIGINT; the exit code is azmlinfsrv's (3 when the script cannot start)."""
    from mlk.errors import ExternalError
    from mlk.http import peer
    from mlk.http.serve import bind, raise_fd_limit
    from mlk.server.workers import Master

    configure_logging("azmlinfsrv", "mlk")
    raise_fd_limit()
    os.environ.pop(peer.ENV, None)  # read into the settings; score.py and what it starts need not see it
    if settings.model_dir is None:
        print("The environment variable 'AZUREML_MODEL_DIR' has not been set.", flush=True)
        print("Use the --model_dir command line argument to set it.", flush=True)
    print(banner(settings), flush=True)
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        raise ExternalError(str(exc.strerror or exc), hint="pick another --port, or stop what listens there") from None
    sock.set_inheritable(True)
    logging.getLogger("azmlinfsrv").info(
        "Listening at: http://%s:%s (%s)", settings.host, sock.getsockname()[1], os.getpid()
    )
    return Master(settings, sock).run()
