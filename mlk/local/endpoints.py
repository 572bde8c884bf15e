"""Online endpoints on the embedded default: create, update (traffic, mirror, description, tags), show,
list, delete, invoke — what the CLI's online-endpoint commands call."""

from __future__ import annotations

import http.client
import time
from collections.abc import Mapping
from typing import Any

from mlk.errors import ConflictError, UsageError
from mlk.local import control, runtime
from mlk.specs.traffic import check_traffic
from mlk.workspace import keys, scoring
from mlk.workspace import state as desired
from mlk.workspace.home import Workspace
from mlk.workspace.records import EndpointRecord

UPDATABLE = ("description", "tags", "traffic", "mirror_traffic")
AZURE_LOCAL = "azure_local"
"""The EndpointRecord key set on endpoints created with --local: Azure's local-endpoint rules."""


def scoring_uri(ws: Workspace, name: str) -> str:
    return f"http://127.0.0.1:{ws.router_port}/api/v1/endpoint/{name}/score"


def provisioning_state(record: EndpointRecord) -> str:
    if record.get("deleting"):
        return "Deleting"
    if desired.stale_operation(record):
        return "Failed"
    return "Succeeded"


def view(ws: Workspace, name: str, record: EndpointRecord) -> dict[str, Any]:
    spec = record["spec"]
    out = {
        "name": name,
        "auth_mode": spec.get("auth_mode", "key"),
        "compute": record.get("compute", "local"),
        "description": spec.get("description"),
        "tags": spec.get("tags", {}),
        "traffic": dict(record.get("traffic", {})),
        "mirror_traffic": dict(record.get("mirror_traffic", {})),
        "provisioning_state": provisioning_state(record),
        "scoring_uri": scoring_uri(ws, name),
        "openapi_uri": scoring_uri(ws, name).removesuffix("score") + "swagger.json",
        "kind": "local",
    }

    stale = desired.stale_operation(record)
    if stale:
        out["error"] = (
            f"the command '{stale['kind']}' (pid {stale['pid']}) stopped before it finished; "
            "run it again, or delete what it left"
        )
    return out


def create(ws: Workspace, spec: Mapping[str, Any], compute: str, *, azure_local: bool = False) -> dict[str, Any]:
    name = spec["name"]
    with desired.mutate(ws) as state:
        if name in state["endpoints"] and not state["endpoints"][name].get("deleting"):
            raise ConflictError(
                f"online endpoint '{name}' already exists",
                hint=f"change it with mlk online-endpoint update -n {name} (or -f with the file)",
            )
        if any(spec.get("traffic", {}).values()) or spec.get("mirror_traffic"):
            raise UsageError(
                "a new endpoint has no deployments, so its traffic can only be empty or 0",
                hint="create the deployment with --all-traffic, or set traffic afterwards",
            )
        record: EndpointRecord = {
            "spec": dict(spec),
            "compute": compute,
            "traffic": {},
            "mirror_traffic": {},
            "deployments": {},
            "created": time.time(),
            "operation": None,
        }
        if azure_local:
            record["azure_local"] = True
        state["endpoints"][name] = record
    keys.ensure_keys(ws, name)
    control.poke(ws)
    return view(ws, name, record)


def update(
    ws: Workspace,
    name: str,
    *,
    spec: Mapping[str, Any] | None = None,
    traffic: Mapping[str, int] | None = None,
    mirror: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    moment = time.time()
    with desired.mutate(ws) as state:
        record = desired.endpoint(state, name)
        if spec is not None:
            changed = [k for k in spec if k not in UPDATABLE and k != "name" and spec.get(k) != record["spec"].get(k)]
            if changed:
                raise UsageError(
                    f"only description, tags, traffic and mirror_traffic can change: not {', '.join(changed)}",
                    hint="delete and create the endpoint to change the others",
                )
            record["spec"].update({k: spec[k] for k in ("description", "tags") if k in spec})
            traffic = traffic if traffic is not None else spec.get("traffic") or None
            mirror = mirror if mirror is not None else spec.get("mirror_traffic")
        new_traffic = dict(traffic) if traffic is not None else dict(record.get("traffic", {}))
        if traffic is not None:  # az: names not given keep nothing; the given shares are the whole split
            new_traffic = {**dict.fromkeys(record.get("traffic", {}), 0), **traffic}
        new_mirror = dict(mirror) if mirror is not None else dict(record.get("mirror_traffic", {}))
        check_traffic(
            (d for d, r in record.get("deployments", {}).items() if not r.get("deleting")), new_traffic, new_mirror
        )
        record["traffic"], record["mirror_traffic"] = new_traffic, new_mirror
        shown = view(ws, name, record)
    control.poke(ws)
    control.reconciled_since(ws, moment)
    return shown


def delete(ws: Workspace, name: str, timeout: float = 60) -> None:
    with desired.operation(ws, name, "online-endpoint delete"), desired.mutate(ws) as state:
        record = desired.endpoint(state, name)
        record["deleting"] = True
        for dep in record.get("deployments", {}).values():
            dep["deleting"] = True
        prefix = f"{name}/"
    control.poke(ws)
    control.wait_until(
        ws,
        lambda s: not any(k.startswith(prefix) and v.get("replicas") for k, v in s["deployments"].items()),
        timeout,
        f"endpoint {name} to stop",
    )
    with desired.mutate(ws) as state:
        state["endpoints"].pop(name, None)
    keys.delete_keys(ws, name)
    control.poke(ws)


def invoke(ws: Workspace, name: str, body: bytes, deployment: str | None, timeout: float = 60) -> str:
    with desired.mutate(ws) as state:
        record = desired.endpoint(state, name)
    creds = keys.credentials(ws, name, record["spec"].get("auth_mode", "key"))
    headers = scoring.headers_for(creds, deployment)
    if control.agent_pid(ws) is None:  # after a reboot: start the agent and let the replicas come up first
        control.start_agent(ws)
        wanted = [deployment] if deployment else [d for d, w in record.get("traffic", {}).items() if w > 0]
        control.wait_until(
            ws,
            lambda s: all(
                any(r["state"] == "ready" for r in s["deployments"].get(runtime.key(name, d), {}).get("replicas", []))
                for d in wanted
            ),
            120,
            f"endpoint {name} to start",
        )
    conn = http.client.HTTPConnection("127.0.0.1", ws.router_port, timeout=timeout)
    path = f"/api/v1/endpoint/{name}/score"
    return scoring.post(conn, path, body, headers, name=name, deployment=deployment, where=f"port {ws.router_port}")


def status_of(ws: Workspace, endpoint: str, deployment: str) -> dict[str, Any]:
    entry: dict[str, Any] = runtime.read_status(ws)["deployments"].get(runtime.key(endpoint, deployment), {})
    return entry
