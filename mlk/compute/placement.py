"""Which compute an endpoint lives on, as the implementation that runs it.

New endpoints go where their YAML's `compute:` says (az ml's `azureml:NAME` form), else to the
workspace's default compute; `--local` forces this machine. An existing endpoint stays where it was
created, so every later command finds it without being told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlk.compute.base import Compute, JobRunner
from mlk.errors import NotFoundError
from mlk.workspace import computes, state
from mlk.workspace.home import Workspace

LOCAL = "local"


def implementation(ws: Workspace, compute: Mapping[str, Any], *, azure_local: bool = False) -> Compute:
    """The implementation for a compute record of the workspace (the imports are the heavy part)."""
    if compute.get("type") == LOCAL:
        from mlk.local.compute import LocalCompute

        return LocalCompute(ws, str(compute["name"]), azure_local=azure_local)
    from mlk.kube.compute import KubeCompute

    return KubeCompute(ws, compute)


def for_new_endpoint(ws: Workspace, spec: Mapping[str, Any], local: bool) -> Compute:
    """`--local` makes an endpoint with Azure's local-endpoint rules on this machine (see LocalCompute)."""
    name = LOCAL if local else str(spec.get("compute") or ws.default_compute)
    return implementation(ws, computes.get(ws, name), azure_local=local)


def _compute_of(record: Mapping[str, Any]) -> str:
    return str(record.get("compute") or LOCAL).removeprefix("azureml:")


def of_endpoint(ws: Workspace, name: str, *, local: bool = False) -> Compute:
    """The compute `name` was created on (NotFoundError, exit 3, for an endpoint the workspace lacks; with
    `local`, as az's --local, also for one that is not on this machine)."""
    record = state.endpoint(state.load(ws), name)
    compute = computes.get(ws, _compute_of(record))
    if local and compute.get("type") != LOCAL:
        raise NotFoundError(
            f"online endpoint '{name}' is not a local endpoint: it runs on compute '{compute['name']}'",
            hint="leave out --local",
        )
    return implementation(ws, compute)


def endpoint_names(ws: Workspace, *, local: bool = False) -> list[str]:
    """The workspace's endpoints (being deleted: left out), sorted; with `local` those on this machine."""
    records = state.load(ws)["endpoints"]
    return [
        name
        for name, record in sorted(records.items())
        if not record.get("deleting") and (not local or computes.get(ws, _compute_of(record)).get("type") == LOCAL)
    ]


def job_runner(ws: Workspace, compute: Mapping[str, Any]) -> JobRunner:
    """Where a job on `compute` runs: this machine's runner, or the cluster's job controller."""
    if compute.get("type") == LOCAL:
        from mlk.local.jobs import LocalJobs

        return LocalJobs(ws)
    from mlk.kube.compute import KubeCompute

    return KubeCompute(ws, compute)


def compute_for_job(ws: Workspace, spec: Mapping[str, Any], local: bool) -> dict[str, Any]:
    """A new job's compute record: `--local`, else the job's `compute:`, else the workspace's default."""
    name = LOCAL if local else str(spec.get("compute") or ws.default_compute).removeprefix("azureml:")
    return dict(computes.get(ws, name))
