"""The embedded default as a `Compute` (mlk.compute.base): endpoints and deployments on this machine,
run by the agent as processes or, with the Docker runtime, as the pod's containers.

Endpoints created with `--local` follow Azure's local-endpoint rules, so Azure's scripts for them run
unchanged: one deployment, which answers without traffic rules, and a scoring URI on 127.0.0.1 that asks
for no key. Endpoints placed here by `compute: local` or the workspace default keep keys and traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import ConflictError
from mlk.local import control, deployments, endpoints
from mlk.workspace import keys
from mlk.workspace import state as desired
from mlk.workspace.home import Workspace

Say = Callable[[str], None]


class LocalCompute:
    def __init__(self, ws: Workspace, name: str, *, azure_local: bool = False) -> None:
        self.ws, self.name = ws, name
        self.azure_local = azure_local
        """Endpoints this creates follow Azure's local-endpoint rules (az's --local)."""

    def _endpoint(self, name: str) -> str:
        """The stored name of endpoint `name` (Azure's names have no case)."""
        return desired.endpoint_name(desired.load(self.ws), name)

    def _deployment(self, endpoint: str, name: str) -> tuple[str, str]:
        state = desired.load(self.ws)
        endpoint = desired.endpoint_name(state, endpoint)
        return endpoint, desired.deployment_name(state, endpoint, name)

    # --- endpoints ---------------------------------------------------------------------------------------
    def create_endpoint(self, spec: Mapping[str, Any], *, wait: bool, say: Say) -> dict[str, Any]:
        existing = desired.load(self.ws)["endpoints"]
        clash = next((n for n in existing if n.lower() == str(spec["name"]).lower() and n != spec["name"]), None)
        if clash is not None:
            raise ConflictError(f"online endpoint '{clash}' already exists (names have no case)")
        return endpoints.create(self.ws, spec, self.name, azure_local=self.azure_local)

    def update_endpoint(
        self,
        name: str,
        *,
        spec: Mapping[str, Any] | None = None,
        traffic: Mapping[str, int] | None = None,
        mirror: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        name = self._endpoint(name)
        stored = desired.endpoint(desired.load(self.ws), name)["deployments"]

        def as_stored(shares: Mapping[str, int] | None) -> dict[str, int] | None:
            if shares is None:
                return None
            return {next((n for n in stored if n.lower() == k.lower()), k): v for k, v in shares.items()}

        return endpoints.update(self.ws, name, spec=spec, traffic=as_stored(traffic), mirror=as_stored(mirror))

    def show_endpoint(self, name: str) -> dict[str, Any]:
        name = self._endpoint(name)
        return endpoints.view(self.ws, name, desired.endpoint(desired.load(self.ws), name))

    def delete_endpoint(self, name: str) -> None:
        endpoints.delete(self.ws, self._endpoint(name))

    def invoke(self, name: str, body: bytes, deployment: str | None) -> str:
        name = self._endpoint(name)
        if deployment is not None:
            deployment = self._deployment(name, deployment)[1]
        return endpoints.invoke(self.ws, name, body, deployment)

    def credentials(self, name: str) -> dict[str, Any]:
        name = self._endpoint(name)
        record = desired.endpoint(desired.load(self.ws), name)
        return keys.credentials(self.ws, name, record["spec"].get("auth_mode", "key"))

    def regenerate_key(self, name: str, key_type: str) -> None:
        keys.regenerate(self.ws, self._endpoint(name), key_type)
        control.poke(self.ws)

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
        state = desired.load(self.ws)
        endpoint = desired.endpoint_name(state, str(spec["endpoint_name"]))
        stored = desired.endpoint(state, endpoint)["deployments"]
        name = next((n for n in stored if n.lower() == str(spec["name"]).lower()), str(spec["name"]))
        spec = {**spec, "endpoint_name": endpoint, "name": name}
        if runtime is None and update:  # an update keeps the runtime the deployment was created with
            run = stored[name].get("run") if name in stored else None
            runtime = run["runtime"] if run is not None else None
        if desired.endpoint(state, endpoint).get(endpoints.AZURE_LOCAL):
            others = [n for n, d in stored.items() if n != name and not d.get("deleting")]
            if others:
                raise ConflictError(
                    f"local endpoint '{endpoint}' has deployment '{others[0]}' already: "
                    "Azure's local endpoints take one deployment",
                    hint=f"delete it first (mlk online-deployment delete -e {endpoint} -n {others[0]} --local), "
                    "or create the endpoint without --local to have several deployments and traffic rules",
                )
            all_traffic = True  # it answers every request: a local endpoint has no traffic rules
        return deployments.create(
            self.ws,
            spec,
            all_traffic=all_traffic,
            wait=wait,
            say=say,
            progress=progress,
            update=update,
            runtime_kind=runtime,
            on_lines=on_lines,
        )

    def show_deployment(self, endpoint: str, name: str) -> dict[str, Any]:
        return deployments.show(self.ws, *self._deployment(endpoint, name))

    def list_deployments(self, endpoint: str) -> list[dict[str, Any]]:
        endpoint = self._endpoint(endpoint)
        record = desired.endpoint(desired.load(self.ws), endpoint)
        live = sorted(n for n, d in record["deployments"].items() if not d.get("deleting"))
        return [deployments.show(self.ws, endpoint, n) for n in live]

    def delete_deployment(self, endpoint: str, name: str) -> None:
        deployments.delete(self.ws, *self._deployment(endpoint, name))

    def logs(self, endpoint: str, name: str, *, lines: int, container: str) -> str:
        return deployments.logs(self.ws, *self._deployment(endpoint, name), lines, container)
