"""The `mlk job` flow, whatever runs the job: submit, show (status, then the latest metrics), list, cancel,
stream, download. The job's record is the workspace's; its runner (placement.job_runner) runs it."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlk.compute import placement
from mlk.compute.base import JobRunner, Say
from mlk.errors import ConflictError, ExternalError, MlkError, NotFoundError
from mlk.workspace import arm, computes, jobs
from mlk.workspace.home import Workspace
from mlk.workspace.jobrecords import ARTIFACTS, DEFAULT_OUTPUT, output_name

NAMED_OUTPUTS = "named-outputs"
"""Where `job download` puts a named output, as az ml does (the default output goes to artifacts/)."""


def _runner(ws: Workspace, name: str) -> JobRunner:
    record = jobs.record(ws, name)
    return placement.job_runner(ws, computes.get(ws, record["compute"]))


def _status(ws: Workspace, name: str) -> dict[str, Any]:
    """An ended job's last report (it stands even once its pods are gone); else what its runner says now."""
    status = jobs.status_of(ws, name)
    return status if jobs.is_terminal(status) else _runner(ws, name).poll_job(name)


def create(ws: Workspace, spec: Mapping[str, Any], *, name: str | None, local: bool, say: Say) -> dict[str, Any]:
    chosen = name or str(spec.get("name") or "") or jobs.new_name()
    if (jobs.folder(ws, chosen) / "job.json").exists():
        raise ConflictError(f"job '{chosen}' already exists", hint="job names are unique: give another with -n")
    compute = placement.compute_for_job(ws, spec, local)
    runner = placement.job_runner(ws, compute)
    prepared = jobs.prepare(ws, spec, chosen, str(compute["name"]), say)
    jobs.save_record(ws, chosen, {"spec": dict(spec), "compute": compute["name"], "created": time.time()})
    try:
        runner.start_job(dict(prepared), say=say)
    except MlkError as exc:  # the job is recorded: it shows why it never started (an image build, the cluster)
        jobs.save_status(ws, chosen, {"status": "Failed", "error": f"the job did not start: {exc.message}"})
        raise
    return show(ws, chosen, metrics=False)


def _when(moment: Any) -> str | None:
    """ISO 8601: runners here report epoch seconds, a cluster its own timestamps (already ISO)."""
    if not moment:
        return None
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC).isoformat()
    return str(moment)


def _metrics(ws: Workspace, status: Mapping[str, Any]) -> dict[str, Any]:
    """The run's latest metrics and its params: as a cluster's runner reports them (its operator copies
    them from the cluster's tracking server), else from the workspace's tracking server on this machine."""
    if "metrics" in status:
        return {"metrics": status["metrics"], "params": status.get("params") or {}}
    if not status.get("run_id"):
        return {}
    from mlk.local import tracking
    from mlk.storage import mlflowrest

    try:
        server = tracking.ensure(ws)
        data = mlflowrest.run_data(server.uri, status["run_id"], auth=server.auth)
    except MlkError:
        return {}
    return {"metrics": data["metrics"], "params": data["params"]}


def show(ws: Workspace, name: str, *, metrics: bool = True) -> dict[str, Any]:
    status = _status(ws, name)
    return view(ws, name, jobs.record(ws, name), status, _metrics(ws, status) if metrics else {})


def view(
    ws: Workspace, name: str, record: Mapping[str, Any], status: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """What `job show` prints: Azure's keys (scripts query `status`, `name`, `outputs`...)."""
    spec = record["spec"]
    outputs = {
        out: {**(value if isinstance(value, Mapping) else {}), "path": f"azureml://jobs/{name}/outputs/{out}"}
        for out, value in {**(spec.get("outputs") or {}), ARTIFACTS: {"type": "uri_folder"}}.items()
    }
    shown: dict[str, Any] = {
        "name": name,
        "display_name": spec.get("display_name") or name,
        "experiment_name": spec.get("experiment_name") or jobs.default_experiment(),
        "type": "command",
        "status": status.get("status", "NotStarted"),
        "command": spec.get("command"),
        "code": spec.get("code"),
        "environment": spec.get("environment"),
        "inputs": spec.get("inputs") or {},
        "outputs": outputs,
        "compute": f"azureml:{record['compute']}",
        "resources": spec.get("resources") or {"instance_count": 1},
        "distribution": spec.get("distribution"),
        "limits": spec.get("limits"),
        "environment_variables": spec.get("environment_variables") or {},
        "description": spec.get("description"),
        "tags": spec.get("tags") or {},
        "properties": {"mlflow.runId": status.get("run_id")} if status.get("run_id") else {},
        "creation_context": {"created_at": _when(record.get("created")), "created_by": getpass.getuser()},
        "start_time": _when(status.get("start_time")),
        "end_time": _when(status.get("end_time")),
        "id": arm.job_id(ws.name, name),
        **({"error": {"message": status["error"]}} if status.get("error") else {}),
        **extra,
    }
    return shown


def listing(ws: Workspace) -> list[dict[str, Any]]:
    rows = []
    for name in reversed(jobs.names(ws)):
        rows.append(view(ws, name, jobs.record(ws, name), _status(ws, name), {}))
    return rows


def cancel(ws: Workspace, name: str) -> dict[str, Any]:
    _runner(ws, name).cancel_job(name)
    return show(ws, name, metrics=False)


def stream(ws: Workspace, name: str, out: Callable[[str], None]) -> dict[str, Any]:
    """Follow the job's logs to its end; a failed job is an error (exit 6) with the runner's reason."""
    _runner(ws, name).job_logs(name, follow=True, out=out)
    shown = show(ws, name, metrics=False)
    if shown["status"] == "Failed":
        raise ExternalError(f"job '{name}' failed: {shown.get('error', {}).get('message', '')}")
    return shown


def download(ws: Workspace, name: str, *, output: str | None, every: bool, to: Path) -> list[Path]:
    """az ml's layout: the default output under <to>/artifacts, a named one under <to>/named-outputs/<name>."""
    import shutil

    from mlk.workspace.jobinputs import output_path

    record = jobs.record(ws, name)
    declared = list((record["spec"].get("outputs") or {}).keys())
    if output is not None and output not in (*declared, ARTIFACTS, DEFAULT_OUTPUT):
        raise NotFoundError(
            f"job '{name}' has no output '{output}'", hint="its outputs: " + ", ".join([ARTIFACTS, *declared])
        )
    wanted = [*declared, ARTIFACTS] if every else [output or ARTIFACTS]
    written = []
    for each in map(output_name, wanted):
        source = output_path(ws, name, each)
        target = to / ARTIFACTS if each == ARTIFACTS else to / NAMED_OUTPUTS / each
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.name)
        written.append(target)
    return written
