"""Computes attached to a workspace: `local` (this machine, always there) and Kubernetes clusters.

A Kubernetes compute is a cluster (a kubeconfig and context, as kubectl takes them) plus a namespace;
its record lives in the workspace's configuration.
"""

from __future__ import annotations

from typing import Any

from mlk.errors import ConflictError, NotFoundError, UsageError
from mlk.workspace.files import locked, read_json, write_json
from mlk.workspace.home import Workspace

LOCAL = "local"


def _config_file(ws: Workspace) -> Any:
    return ws.root / "workspace.json"


def attached(ws: Workspace) -> dict[str, dict[str, Any]]:
    config = read_json(_config_file(ws), {})
    computes: dict[str, dict[str, Any]] = config.get("computes", {})
    return computes


def get(ws: Workspace, name: str) -> dict[str, Any]:
    name = name.removeprefix("azureml:")
    if name == LOCAL:
        return {"name": LOCAL, "type": "local"}
    found = attached(ws).get(name)
    if found is None:
        raise NotFoundError(
            f"compute '{name}' is not attached to workspace '{ws.name}'",
            hint="attach the cluster with `mlk compute attach --type Kubernetes -n NAME ...`, "
            "or pass --local to run on this machine",
        )
    return found


def attach(ws: Workspace, record: dict[str, Any]) -> None:
    if record["name"] == LOCAL:
        raise UsageError("'local' is this machine's compute; attach the cluster under another name")
    with locked(ws.lock_file):
        config = read_json(_config_file(ws), {})
        config.setdefault("computes", {})[record["name"]] = record
        write_json(_config_file(ws), config)
        ws.config = config


def detach(ws: Workspace, name: str) -> None:
    from mlk.workspace import state

    using = sorted(n for n, r in state.load(ws)["endpoints"].items() if r.get("compute") == name)
    if using:
        raise ConflictError(
            f"compute '{name}' still has endpoints of this workspace: {', '.join(using)}",
            hint="delete them first (mlk online-endpoint delete -n NAME): detached, they could not be reached",
        )
    with locked(ws.lock_file):
        config = read_json(_config_file(ws), {})
        if name not in config.get("computes", {}):
            raise NotFoundError(f"compute '{name}' is not attached to workspace '{ws.name}'")
        del config["computes"][name]
        write_json(_config_file(ws), config)
        ws.config = config


def cluster_ref(record: dict[str, Any]) -> Any:
    from mlk.k8s.cluster import ClusterRef

    return ClusterRef(record.get("kubeconfig"), record.get("context"))
