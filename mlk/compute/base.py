"""The one interface the online-endpoint and online-deployment commands use, whatever runs them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

Say = Callable[[str], None]
"""Progress lines for the user (the CLI sends them to stderr)."""

LOG_CONTAINERS = ("inference-server", "storage-initializer")
"""The containers `get-logs --container` names, as Azure names them in a deployment's pods."""


class Compute(Protocol):
    """An endpoint's home. Names given here are as the user typed them: Azure's endpoint and deployment
    names have no case, and each implementation finds `Blue` where it stored `blue`."""

    name: str
    """The compute's name in the workspace (`local`, or the name given to `compute attach`)."""

    # --- endpoints ---------------------------------------------------------------------------------------
    def create_endpoint(self, spec: Mapping[str, Any], *, wait: bool, say: Say) -> dict[str, Any]: ...

    def update_endpoint(
        self,
        name: str,
        *,
        spec: Mapping[str, Any] | None = None,
        traffic: Mapping[str, int] | None = None,
        mirror: Mapping[str, int] | None = None,
    ) -> dict[str, Any]: ...

    def show_endpoint(self, name: str) -> dict[str, Any]: ...

    def delete_endpoint(self, name: str) -> None: ...

    def invoke(self, name: str, body: bytes, deployment: str | None) -> str:
        """The body the endpoint answered, as text (what az ml prints)."""
        ...

    def credentials(self, name: str) -> dict[str, Any]: ...

    def regenerate_key(self, name: str, key_type: str) -> None: ...

    # --- deployments -------------------------------------------------------------------------------------
    def deploy(
        self,
        spec: Mapping[str, Any],
        *,
        all_traffic: bool,
        wait: bool,
        update: bool,
        say: Say,
        progress: Any = None,
        runtime: str | None = None,
        on_lines: Any = None,
    ) -> dict[str, Any]:
        """Create (or with `update`, change) the deployment `spec` names. `runtime` is the embedded
        default's choice (process or docker; None: the workspace's, or on update what it was created with)
        and means nothing to a cluster; `on_lines` takes an image build's output as it comes."""
        ...

    def show_deployment(self, endpoint: str, name: str) -> dict[str, Any]: ...

    def list_deployments(self, endpoint: str) -> list[dict[str, Any]]: ...

    def delete_deployment(self, endpoint: str, name: str) -> None: ...

    def logs(self, endpoint: str, name: str, *, lines: int, container: str) -> str: ...


# --- training jobs ---------------------------------------------------------------------------------------
from mlk.workspace.jobrecords import JOB_STATUSES, JOB_TERMINAL  # noqa: E402 (re-exported for runners)

__all__ = ["JOB_STATUSES", "JOB_TERMINAL", "LOG_CONTAINERS", "Compute", "JobRunner", "Say"]


class JobRunner(Protocol):
    """Where a command job runs: this machine or a cluster. The job's record lives in the workspace
    (mlk.workspace.jobs); the runner starts it, reports on it and stops it."""

    name: str

    def start_job(self, job: Mapping[str, Any], *, say: Say) -> None:
        """Start the prepared job (mlk.workspace.jobs.Prepared as a dict) and return once it is queued."""
        ...

    def poll_job(self, name: str) -> dict[str, Any]:
        """What the runner knows now: `status`, and where known `error`, `start_time`, `end_time`,
        `outputs` (output name → manifest digest, once uploaded). The runner keeps the workspace's
        status.json in step (this machine's runner writes it as it goes; a cluster's is copied here)."""
        ...

    def cancel_job(self, name: str) -> None: ...

    def job_logs(self, name: str, *, follow: bool, out: Callable[[str], None]) -> None:
        """Every process's log lines, prefixed by the file they came from; with `follow`, until the job ends."""
        ...
