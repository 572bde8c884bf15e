"""The few MLflow tracking calls a job's runner and `job show` make, over MLflow's REST API (stdlib only:
mlk itself does not depend on mlflow; the tracking server and the training environments do)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mlk.errors import ExternalError

TIMEOUT = 10.0
API = "/api/2.0/mlflow"


def call(uri: str, path: str, body: dict[str, Any] | None = None, *, auth: str | None = None) -> dict[str, Any]:
    """POST `body` (GET without one) to the tracking server; its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{uri}{API}/{path}", data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            found: dict[str, Any] = json.loads(answer.read() or b"{}")
            return found
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode(errors="replace")
        raise ExternalError(f"MLflow tracking server: {path} answered {exc.code}: {detail}") from None
    except OSError as exc:
        raise ExternalError(f"MLflow tracking server at {uri} unreachable: {exc}") from None


def experiment_id(uri: str, name: str, *, auth: str | None = None) -> str:
    """The experiment's id, creating it on first use (as Azure creates a job's experiment)."""
    try:
        found = call(uri, f"experiments/get-by-name?experiment_name={urllib.parse.quote(name)}", auth=auth)
        return str(found["experiment"]["experiment_id"])
    except ExternalError as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(exc):
            raise
    return str(call(uri, "experiments/create", {"name": name}, auth=auth)["experiment_id"])


def create_run(uri: str, experiment: str, run_name: str, start_ms: int, *, auth: str | None = None) -> str:
    tags = [{"key": "mlflow.runName", "value": run_name}, {"key": "mlflow.source.type", "value": "JOB"}]
    body = {"experiment_id": experiment, "run_name": run_name, "start_time": start_ms, "tags": tags}
    return str(call(uri, "runs/create", body, auth=auth)["run"]["info"]["run_id"])


def end_run(uri: str, run_id: str, status: str, end_ms: int, *, auth: str | None = None) -> None:
    """Close the run with MLflow's status for the job's (FINISHED, FAILED or KILLED)."""
    call(uri, "runs/update", {"run_id": run_id, "status": status, "end_time": end_ms}, auth=auth)


def run_data(uri: str, run_id: str, *, auth: str | None = None) -> dict[str, Any]:
    """`metrics` (latest value of each), `params` and the run's `artifact_uri`."""
    run = call(uri, f"runs/get?run_id={run_id}", auth=auth)["run"]
    data = run.get("data", {})
    return {
        "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
        "params": {p["key"]: p["value"] for p in data.get("params", [])},
        "artifact_uri": run["info"].get("artifact_uri", ""),
        "experiment_id": run["info"].get("experiment_id", ""),
    }


ARTIFACTS_SCHEME = "mlflow-artifacts:/"


def logged_models(uri: str, experiment: str, run_id: str, *, auth: str | None = None) -> dict[str, str]:
    """MLflow 3 keeps a run's `log_model` results apart from its artifacts: name → the model's artifact
    path under the server's artifact root, for the models `run_id` logged."""
    found = call(uri, "logged-models/search", {"experiment_ids": [experiment], "max_results": 100}, auth=auth)
    out = {}
    for model in found.get("models", []):
        info = model.get("info", {})
        where = str(info.get("artifact_uri", ""))
        if info.get("source_run_id") == run_id and where.startswith(ARTIFACTS_SCHEME):
            out[str(info.get("name") or info["model_id"])] = where.removeprefix(ARTIFACTS_SCHEME)
    return out
