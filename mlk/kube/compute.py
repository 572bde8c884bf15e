"""An attached Kubernetes cluster as a `Compute` (mlk.compute.base): the OnlineEndpoint and
OnlineDeployment resources are the truth, the operator makes them real; the workspace only remembers
which compute each endpoint lives on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlk.kube import deployments, endpoints, invoke, jobs
from mlk.workspace import jobs as job_records
from mlk.workspace import state as desired
from mlk.workspace.home import Workspace

Say = Callable[[str], None]


class KubeCompute:
    def __init__(self, ws: Workspace, compute: Mapping[str, Any]) -> None:
        self.ws, self.compute, self.name = ws, dict(compute), str(compute["name"])

    def _endpoint(self, name: str) -> str:
        """The name the workspace knows endpoint `name` by (Azure's names have no case)."""
        return desired.endpoint_name(desired.load(self.ws), name)

    # --- endpoints ---------------------------------------------------------------------------------------
    def create_endpoint(self, spec: Mapping[str, Any], *, wait: bool, say: Say) -> dict[str, Any]:
        return endpoints.create(self.ws, spec, self.compute, wait=wait, say=say)

    def update_endpoint(
        self,
        name: str,
        *,
        spec: Mapping[str, Any] | None = None,
        traffic: Mapping[str, int] | None = None,
        mirror: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        return endpoints.update(self.ws, self._endpoint(name), self.compute, spec=spec, traffic=traffic, mirror=mirror)

    def show_endpoint(self, name: str) -> dict[str, Any]:
        return endpoints.show(self.ws, self._endpoint(name), self.compute)

    def delete_endpoint(self, name: str) -> None:
        endpoints.delete(self.ws, self._endpoint(name), self.compute)

    def invoke(self, name: str, body: bytes, deployment: str | None) -> str:
        return invoke.invoke(self.ws, self._endpoint(name), self.compute, body, deployment)

    def credentials(self, name: str) -> dict[str, Any]:
        return endpoints.get_credentials(self.ws, self._endpoint(name), self.compute)

    def regenerate_key(self, name: str, key_type: str) -> None:
        endpoints.regenerate(self.ws, self._endpoint(name), self.compute, key_type)

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
        spec = {**spec, "endpoint_name": self._endpoint(str(spec["endpoint_name"]))}
        return deployments.create(
            self.ws,
            spec,
            self.compute,
            all_traffic=all_traffic,
            wait=wait,
            say=say,
            progress=progress,
            update=update,
            on_lines=on_lines,
        )

    def show_deployment(self, endpoint: str, name: str) -> dict[str, Any]:
        return deployments.show(self.ws, self._endpoint(endpoint), name, self.compute)

    def list_deployments(self, endpoint: str) -> list[dict[str, Any]]:
        return deployments.listing(self.ws, self._endpoint(endpoint), self.compute)

    def delete_deployment(self, endpoint: str, name: str) -> None:
        deployments.delete(self.ws, self._endpoint(endpoint), name, self.compute)

    def logs(self, endpoint: str, name: str, *, lines: int, container: str) -> str:
        return deployments.logs(self.ws, self._endpoint(endpoint), name, self.compute, lines, container)

    # --- training jobs (mlk.compute.base.JobRunner) ------------------------------------------------------
    def start_job(self, job: Mapping[str, Any], *, say: Say) -> None:
        jobs.start(self.ws, job, self.compute, say)

    def poll_job(self, name: str) -> dict[str, Any]:
        status = jobs.poll(self.ws, self.compute, name)
        job_records.save_status(self.ws, name, status)  # what `job list` shows without asking the cluster
        return status

    def cancel_job(self, name: str) -> None:
        jobs.cancel(self.ws, self.compute, name)

    def job_logs(self, name: str, *, follow: bool, out: Callable[[str], None]) -> None:
        jobs.logs(self.ws, self.compute, name, follow=follow, out=out)
