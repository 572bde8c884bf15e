"""One MLflow tracking server per workspace on this machine, for training jobs' metrics, params and models.

It is MLflow's own server (`mlflow server`, SQLite backend, artifacts in the workspace), in a virtual
environment mlk builds once with uv, behind MLflow's basic-auth app: the port is on 127.0.0.1, where other
local users could reach it, so every call needs the workspace's credentials (kept 0600, handed to jobs as
MLFLOW_TRACKING_USERNAME/PASSWORD). `python -m mlk.local.tracking WORKSPACE_DIR` hosts it: one per
workspace (an fcntl lock), the server in a process group that dies with its host, and the host exits once
no job has run and nothing has asked for it for IDLE seconds.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mlk.errors import ExternalError
from mlk.lifetime import die_with_parent, kill_orphaned_group, spawn_detached, start_time
from mlk.local.jobprocs import free_ports
from mlk.render.tracking import MLFLOW_SERVER
from mlk.storage import mlflowrest
from mlk.workspace import jobs
from mlk.workspace.files import open_private, private_dir, read_json, write_json, write_private
from mlk.workspace.home import Workspace, open_workspace

SERVER = {"conda_file": {"name": "mlk-tracking", "dependencies": [{"pip": [MLFLOW_SERVER]}]}}
"""The tracking server's environment (an environment like any other: built once, shared by workspaces)."""
IDLE = float(os.environ.get("MLK_TRACKING_IDLE", "900"))
START_TIMEOUT = 300.0
"""Seconds to wait for the server: the first start builds its environment (~1 min with a cold uv cache)."""
USER = "mlk"


Tracking = mlflowrest.Server
"""The workspace's server, as its runner and `job show` reach it."""


def _folder(ws: Workspace) -> Path:
    return ws.root / "tracking"


def _info(ws: Workspace) -> Path:
    return ws.runtime / "tracking.json"


def artifacts_root(ws: Workspace) -> Path:
    return _folder(ws) / "artifacts"


def _credentials(ws: Workspace) -> dict[str, str]:
    """Made once: MLflow's auth database keeps the admin password it was first given."""
    path = _folder(ws) / "credentials.json"
    found: dict[str, str] | None = read_json(path, None)
    if found is None:
        found = {"username": USER, "password": secrets.token_urlsafe(24), "secret": secrets.token_hex(32)}
        private_dir(_folder(ws))
        write_json(path, found)
    return found


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def running(ws: Workspace) -> Tracking | None:
    """The workspace's server if it is up (and marks it as used, which keeps it up)."""
    info = read_json(_info(ws), None)
    if not info or not _healthy(info["uri"]):
        return None
    os.utime(_info(ws))
    credentials = _credentials(ws)
    return Tracking(info["uri"], credentials["username"], credentials["password"])


def ensure(ws: Workspace, say: jobs.Say | None = None) -> Tracking:
    """The workspace's tracking server, started (and its environment built) when it is not running."""
    found = running(ws)
    if found is not None:
        return found
    if say is not None:
        say("starting the workspace's MLflow tracking server")
    private_dir(ws.runtime)
    log = ws.runtime / "tracking.log"
    spawn_detached([sys.executable, "-m", "mlk.local.tracking", ws.name], log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = running(ws)
        if found is not None:
            return found
        time.sleep(0.25)
    raise ExternalError("the MLflow tracking server did not start", hint=f"see {log}")


def _auth_config(ws: Workspace, credentials: dict[str, str]) -> Path:
    path = _folder(ws) / "auth.ini"
    text = (
        "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{_folder(ws) / 'auth.db'}\n"
        f"admin_username = {credentials['username']}\nadmin_password = {credentials['password']}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    write_private(path, text.encode())
    return path


def _group(ws: Workspace) -> Path:
    """The server's process group, recorded so that a host killed outright (SIGKILL: no cleanup) does not
    leave MLflow's own children (uvicorn) behind: the next host, or `stop`, ends them."""
    return ws.runtime / "tracking-group.json"


def _stop_leftover(ws: Workspace) -> None:
    group = read_json(_group(ws), None)
    if group:
        kill_orphaned_group(int(group["pid"]), group.get("started"))
    _group(ws).unlink(missing_ok=True)


def stop(ws: Workspace) -> None:
    """Stop the workspace's tracking server and its host now (tests, and a workspace going away)."""
    info = read_json(_info(ws), None)
    if info and start_time(int(info["pid"])) is not None:
        os.kill(int(info["pid"]), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and start_time(int(info["pid"])) is not None:
            time.sleep(0.05)
    _stop_leftover(ws)


def _busy(ws: Workspace) -> bool:
    return any(not jobs.is_terminal(jobs.status_of(ws, name)) for name in jobs.names(ws))


def host(ws: Workspace) -> None:
    """Run the server until idle (or SIGTERM); one host per workspace."""
    from mlk.envs.venv import ensure_env

    private_dir(ws.runtime)
    lock = open_private(ws.runtime / "tracking.lock", append=False)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another host has it
    env = ensure_env(SERVER, ws.envs, extra_requirements=(), on_output=print)
    credentials = _credentials(ws)
    artifacts_root(ws).mkdir(parents=True, exist_ok=True)
    port = free_ports(1)[0]
    uri = f"http://127.0.0.1:{port}"
    server_env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(_auth_config(ws, credentials)),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": credentials["secret"],
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    command = [
        *(str(env.python.parent / "mlflow"), "server", "--app-name", "basic-auth"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--backend-store-uri", f"sqlite:///{_folder(ws) / 'mlflow.db'}"),
        *("--artifacts-destination", str(artifacts_root(ws))),
    ]
    _stop_leftover(ws)
    server = subprocess.Popen(command, env=server_env, process_group=0, preexec_fn=die_with_parent)  # noqa: PLW1509
    write_json(_group(ws), {"pid": server.pid, "started": start_time(server.pid)})
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and server.poll() is None:
            if not _info(ws).exists() and _healthy(uri):
                write_json(_info(ws), {"pid": os.getpid(), "uri": uri})
            used = _info(ws).stat().st_mtime if _info(ws).exists() else time.time()
            if _info(ws).exists() and not _busy(ws) and time.time() - used > IDLE:
                break
            time.sleep(1.0)
    finally:
        _info(ws).unlink(missing_ok=True)
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        _stop_leftover(ws)


if __name__ == "__main__":
    host(open_workspace(sys.argv[1], create=False))
