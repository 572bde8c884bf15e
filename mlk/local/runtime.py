"""The embedded default's files: what the agent reports (status.json), logs, materialised assets, and the
folder that makes mlk importable inside a deployment's own virtual environment."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import mlk
from mlk.workspace.files import private_dir, read_json, write_json
from mlk.workspace.home import Workspace, home


def status_file(ws: Workspace) -> Path:
    return ws.runtime / "status.json"


def read_status(ws: Workspace) -> dict[str, Any]:
    status: dict[str, Any] = read_json(status_file(ws), {})
    status.setdefault("deployments", {})
    return status


def write_status(ws: Workspace, status: dict[str, Any]) -> None:
    status["heartbeat"] = time.time()
    write_json(status_file(ws), status)


def agent_log(ws: Workspace) -> Path:
    return ws.runtime / "agent.log"


def replica_groups(ws: Workspace) -> Path:
    """The process groups of the agent's replicas, for the next agent to stop if this one is killed."""
    return ws.runtime / "replicas.json"


def key(endpoint: str, deployment: str) -> str:
    return f"{endpoint}/{deployment}"


def log_dir(ws: Workspace, endpoint: str, deployment: str) -> Path:
    return ws.runtime / "logs" / endpoint / deployment


def assets_dir(ws: Workspace) -> Path:
    return ws.runtime / "assets"


def mlk_lib() -> Path:
    """A folder holding only a link to this mlk package: put on PYTHONPATH of a deployment's environment,
    it makes `python -m mlk.server` work there without the CLI's dependencies leaking in."""
    package = Path(mlk.__file__).resolve().parent
    tag = hashlib.sha256(str(package).encode()).hexdigest()[:12]
    folder = home() / "lib" / f"{mlk.__version__}-{tag}"
    link = folder / "mlk"
    if not link.exists():
        private_dir(folder)
        tmp = folder / f".mlk-{time.time_ns()}"
        tmp.symlink_to(package, target_is_directory=True)
        tmp.replace(link)
    return folder
