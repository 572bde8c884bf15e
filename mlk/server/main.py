"""`mlk serve`: start the score.py server (the embedded default's replicas and every inference image)."""

from __future__ import annotations

import logging
import sys

from mlk.server.settings import ServerSettings

LOG_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"


def configure_logging() -> None:
    """azmlinfsrv's log format, on stdout (log collectors written for Azure parse it)."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(LOG_FORMAT)
    formatter.converter = __import__("time").gmtime
    handler.setFormatter(formatter)
    for name in ("azmlinfsrv", "mlk"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


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
    from mlk.http.serve import bind
    from mlk.server.workers import Master

    configure_logging()
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
        "Listening at: http://%s:%s (%s)", settings.host, sock.getsockname()[1], __import__("os").getpid()
    )
    return Master(settings, sock).run()
