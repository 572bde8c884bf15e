"""The job controller's side of the cluster's MLflow tracking server (mlk.render.tracking).

A job gets its run when it starts (the experiment is made on first use, as Azure makes a job's), a Secret
of its own in its namespace with the server's credentials (the training container and the uploader read
them: the system namespace's Secret is out of their reach), the run's latest metrics and params copied into
its status while it runs (bounded: the keys a status may hold are capped) and the run closed with Azure's
outcome (FINISHED, FAILED, KILLED).

The server is found by its Service and reached at its ClusterIP, stable for the Service's life and routed
in every cluster, DNS or not. A cluster whose extension has no tracking server (installed before it came)
runs its jobs without one.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

from mlk.operator.handlers import NAMESPACE, cluster
from mlk.render import names
from mlk.render.tracking import PASSWORD_KEY, PORT, USERNAME_KEY
from mlk.storage import mlflowrest

MAX_KEYS = 200
"""Metrics and params copied into a job's status, each: the status stays small whatever a script logs."""
MAX_VALUE = 500
RUN_STATUS = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}


Server = mlflowrest.Server


def server() -> Server | None:
    """The extension's tracking server, or None when it has none (or its Secret is not there yet)."""
    service = cluster().get("v1", "Service", names.TRACKING, NAMESPACE)
    secret = cluster().get("v1", "Secret", names.TRACKING_SECRET, NAMESPACE)
    address = ((service or {}).get("spec") or {}).get("clusterIP")
    data = (secret or {}).get("data") or {}
    if not address or address == "None" or "username" not in data or "password" not in data:
        return None
    decoded = {k: base64.b64decode(data[k]).decode() for k in ("username", "password")}
    return Server(f"http://{address}:{PORT}", decoded["username"], decoded["password"])


def start_run(found: Server, job: Mapping[str, Any]) -> dict[str, str]:
    """The job's run: {run_id, experiment_id}."""
    experiment = mlflowrest.experiment_id(found.uri, str(job.get("experiment_name") or "Default"), auth=found.auth)
    name = str(job.get("display_name") or job["name"])
    run = mlflowrest.create_run(found.uri, experiment, name, int(time.time() * 1000), auth=found.auth)
    return {"run_id": run, "experiment_id": experiment}


def job_secret(found: Server, name: str, namespace: str) -> dict[str, Any]:
    """The credentials for the job's pods, as environment variables MLflow's client reads."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": names.base_labels("tracking")},
        "stringData": {USERNAME_KEY: found.username, PASSWORD_KEY: found.password},
    }


def _bounded(values: Mapping[str, Any], scalar: type) -> dict[str, Any]:
    kept = sorted(values)[:MAX_KEYS]
    if scalar is str:
        return {k[:MAX_VALUE]: str(values[k])[:MAX_VALUE] for k in kept}
    return {k[:MAX_VALUE]: values[k] for k in kept if isinstance(values[k], int | float)}


def latest(found: Server, run_id: str) -> dict[str, Any]:
    """{metrics, params} of the run, bounded, for the job's status."""
    data = mlflowrest.run_data(found.uri, run_id, auth=found.auth)
    return {"metrics": _bounded(data["metrics"], float), "params": _bounded(data["params"], str)}


def end_run(found: Server, run_id: str, status: str) -> None:
    mlflowrest.end_run(found.uri, run_id, RUN_STATUS[status], int(time.time() * 1000), auth=found.auth)
