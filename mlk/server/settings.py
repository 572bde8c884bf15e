"""The server's settings: azmlinfsrv's flags and environment contract, plus mlk's own additions.

Precedence as in azmlinfsrv: a flag wins over the environment, the environment over the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlk.errors import UsageError
from mlk.http import peer
from mlk.http.limits import DEFAULT_MAX_BODY_BYTES, Limits

DEFAULT_PORT = 5001
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000
DEFAULT_WORKER_TIMEOUT_S = 300
SERVER_VERSION = "azmlinfsrv/1.5.1"  # what clients and dashboards written for Azure look for


@dataclass(frozen=True)
class ServerSettings:
    entry_script: Path
    """Absolute path of score.py."""
    app_root: Path
    """AML_APP_ROOT: put on sys.path; the folder the code was deployed to."""
    model_dir: str | None = None
    """AZUREML_MODEL_DIR, exported to the script as given."""
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    worker_count: int = 1
    worker_timeout_s: int = DEFAULT_WORKER_TIMEOUT_S
    scoring_timeout_ms: int = DEFAULT_SCORING_TIMEOUT_MS
    """0 disables the timeout, as in azmlinfsrv."""
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    run_concurrency: int = 1
    """Threads calling run() at once in one worker; more than 1 only when the user says score.py is safe."""
    access_log: bool = True
    read_timeout_s: float = 60.0
    """A request must arrive whole within this (slow clients get 408)."""
    keep_alive_s: float = 65.0
    server_version: str = SERVER_VERSION
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Variables to export before the script is imported (AZUREML_MODEL_DIR, AML_APP_ROOT, ...)."""
    replica_token: str | None = field(default=None, repr=False)
    """mlk.http.peer: set by the embedded default's agent; requests without it get 401."""

    def limits(self) -> Limits:
        """The HTTP layer's limits for a worker."""
        return Limits(
            max_body_bytes=self.max_body_bytes,
            request_read_timeout=self.read_timeout_s,
            keep_alive_timeout=self.keep_alive_s,
            peer_token=self.replica_token,
        )

    @property
    def effective_timeout_ms(self) -> int:
        """The time a run() may take: SCORING_TIMEOUT_MS, bounded by WORKER_TIMEOUT as gunicorn bounds it."""
        limits = [ms for ms in (self.scoring_timeout_ms, self.worker_timeout_s * 1000) if ms > 0]
        return min(limits) if limits else 0


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not an integer", hint=f"set {name} to a whole number") from None
    if value < minimum:
        raise UsageError(f"{name}={value} must be at least {minimum}")
    return value


def from_sources(
    *,
    entry_script: str | None = None,
    model_dir: str | None = None,
    port: int | None = None,
    worker_count: int | None = None,
    cors_origins: str | None = None,
    host: str | None = None,
    max_body_bytes: int | None = None,
    run_concurrency: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ServerSettings:
    """Combine flags (None when not given) with the environment, azmlinfsrv's way."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    app_root = Path(env.get("AML_APP_ROOT") or cwd)
    if not app_root.is_absolute():
        app_root = cwd / app_root
    if entry_script:  # azmlinfsrv resolves the flag against the working directory
        script = Path(os.path.realpath(cwd / entry_script))
    elif env.get("AZUREML_ENTRY_SCRIPT"):  # the pod contract: relative to AML_APP_ROOT
        script = Path(os.path.realpath(app_root / env["AZUREML_ENTRY_SCRIPT"]))
    else:
        raise UsageError("no scoring script", hint="pass --entry_script score.py or set AZUREML_ENTRY_SCRIPT")
    workers = worker_count if worker_count is not None else _int(env, "WORKER_COUNT", 1, minimum=1)
    if workers < 1:
        raise UsageError(f"--worker_count {workers} must be at least 1")
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port")
    origins = cors_origins if cors_origins is not None else env.get("AML_CORS_ORIGINS", "")
    exported = {"AML_APP_ROOT": str(app_root)}
    model = model_dir if model_dir is not None else env.get("AZUREML_MODEL_DIR")
    if model is not None:
        exported["AZUREML_MODEL_DIR"] = model
    concurrency = run_concurrency if run_concurrency is not None else _int(env, "MLK_RUN_CONCURRENCY", 1, minimum=1)
    return ServerSettings(
        entry_script=script,
        app_root=app_root,
        model_dir=model,
        host=host or env.get("MLK_HOST", "0.0.0.0"),
        port=port if port is not None else DEFAULT_PORT,
        worker_count=workers,
        worker_timeout_s=_int(env, "WORKER_TIMEOUT", DEFAULT_WORKER_TIMEOUT_S),
        scoring_timeout_ms=_int(env, "SCORING_TIMEOUT_MS", DEFAULT_SCORING_TIMEOUT_MS),
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        max_body_bytes=max_body_bytes
        if max_body_bytes is not None
        else _int(env, "MLK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1),
        run_concurrency=concurrency,
        access_log=env.get("MLK_ACCESS_LOG", "1").lower() not in ("0", "false", "no"),
        read_timeout_s=float(_int(env, "MLK_READ_TIMEOUT_S", 60, minimum=1)),
        keep_alive_s=float(_int(env, "MLK_KEEP_ALIVE_S", 65, minimum=1)),
        server_version=env.get("HTTP_X_MS_SERVER_VERSION", SERVER_VERSION),
        extra_env=exported,
        replica_token=env.get(peer.ENV) or None,
    )
