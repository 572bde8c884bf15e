"""The few MLflow tracking calls mlk makes, over MLflow's REST API (stdlib only: mlk itself does not
depend on mlflow; the tracking server and the training environments do): a job's runner and the cluster's
job controller open and close the run, `job show` and the controller read its metrics, and a cluster job's
uploader fetches what the run logged through the server's artifact proxy (`download_artifacts`)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlk.errors import ExternalError

TIMEOUT = 10.0
API = "/api/2.0/mlflow"


def basic_auth(username: str, password: str) -> str:
    """The Authorization header MLflow's basic-auth app wants."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@dataclass(frozen=True)
class Server:
    """A tracking server behind MLflow's basic-auth app, and the credentials mlk holds for it."""

    uri: str
    username: str
    password: str

    @property
    def auth(self) -> str:
        return basic_auth(self.username, self.password)

    def job_environment(self) -> dict[str, str]:
        """What MLflow's client in a job reads."""
        return {
            "MLFLOW_TRACKING_URI": self.uri,
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
        }


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


PROXY = "/api/2.0/mlflow-artifacts/artifacts"
"""The server's artifact proxy (`mlflow server` serves artifacts by default): list with ?path=, fetch by path."""
MAX_ARTIFACT_FILES = 10_000


def _open(uri: str, path: str, auth: str | None) -> Any:
    request = urllib.request.Request(f"{uri}{path}")
    if auth:
        request.add_header("Authorization", auth)
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise ExternalError(f"MLflow tracking server: {path} answered {exc.code}") from None
    except OSError as exc:
        raise ExternalError(f"MLflow tracking server at {uri} unreachable: {exc}") from None


def download_artifacts(uri: str, root: str, dest: Path, *, auth: str | None = None) -> int:
    """Every file under the artifact path `root` (as `logged_models` gives, or `<exp>/<run>/artifacts`)
    into `dest`, keeping the tree; the number of files. A listed path that would leave `dest` is refused."""
    count, pending = 0, [root.strip("/")]
    while pending:
        folder = pending.pop()
        with _open(uri, f"{PROXY}?path={urllib.parse.quote(folder)}", auth) as answer:
            listed = json.loads(answer.read() or b"{}").get("files", [])
        for entry in listed:
            inside = PurePosixPath(str(entry.get("path", "")))
            if inside.is_absolute() or ".." in inside.parts or not inside.parts:
                raise ExternalError(f"MLflow tracking server listed an unsafe artifact path: {inside}")
            full = f"{folder}/{inside}"
            if entry.get("is_dir"):
                pending.append(full)
                continue
            count += 1
            if count > MAX_ARTIFACT_FILES:
                raise ExternalError(f"the run logged more than {MAX_ARTIFACT_FILES} artifact files")
            target = dest.joinpath(*PurePosixPath(full).relative_to(root.strip("/")).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with _open(uri, f"{PROXY}/{urllib.parse.quote(full)}", auth) as answer, target.open("wb") as out:
                shutil.copyfileobj(answer, out)
    return count


def download_run(uri: str, run_id: str, dest: Path, *, auth: str | None = None) -> int:
    """What the run logged, as a job's artifacts show it: its own artifacts at the top of `dest`, each
    model it logged (MLflow 3 keeps them apart) under the model's name; the number of files."""
    data = run_data(uri, run_id, auth=auth)
    count = 0
    if str(data["artifact_uri"]).startswith(ARTIFACTS_SCHEME):
        count += download_artifacts(uri, str(data["artifact_uri"]).removeprefix(ARTIFACTS_SCHEME), dest, auth=auth)
    for name, where in logged_models(uri, str(data["experiment_id"]), run_id, auth=auth).items():
        count += download_artifacts(uri, where, dest / name, auth=auth)
    return count


def from_environment() -> tuple[str, str, str | None] | None:
    """(server, run id, auth) from the variables a job's containers get (MLflow's own), or None."""
    uri, run = os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_RUN_ID")
    if not uri or not run:
        return None
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    return uri, run, basic_auth(user, password) if user and password else None
