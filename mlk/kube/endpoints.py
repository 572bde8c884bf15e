"""Online endpoints on a Kubernetes compute: the OnlineEndpoint resource is the truth; the workspace only
remembers which compute an endpoint lives on."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mlk.errors import ConflictError, NotFoundError, OperationTimeout, UsageError
from mlk.k8s.cluster import Cluster
from mlk.render import crs, names
from mlk.specs.traffic import check_traffic
from mlk.workspace import computes
from mlk.workspace import keys as keys_of
from mlk.workspace import state as desired
from mlk.workspace.home import Workspace

KEYS_ROTATED = "keys.mlk.dev/rotated"
"""Marks a key rotation on the OnlineEndpoint. Not under mlk.dev/: kopf leaves its own prefix's annotations
out of what it compares, and this one must make the operator's update handler run."""

Say = Callable[[str], None]
OPERATOR_WAIT = 60.0


@contextmanager
def connect(ws: Workspace, compute: Mapping[str, Any]) -> Iterator[Cluster]:
    with Cluster(computes.cluster_ref(dict(compute))) as cluster:
        yield cluster


def get_cr(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    return cluster.get(names.API_VERSION, "OnlineEndpoint", names.canonical(name), namespace)


def view(name: str, cr: Mapping[str, Any], compute: str) -> dict[str, Any]:
    spec, status = cr.get("spec") or {}, cr.get("status") or {}
    scoring = status.get("scoringUri")
    return {
        "name": name,
        "auth_mode": spec.get("auth_mode", "key"),
        "compute": compute,
        "description": spec.get("description"),
        "tags": spec.get("tags", {}),
        "traffic": dict(spec.get("traffic") or {}),
        "mirror_traffic": dict(spec.get("mirror_traffic") or {}),
        "provisioning_state": status.get("state", "Creating"),
        "scoring_uri": scoring,
        "openapi_uri": scoring.removesuffix("score") + "swagger.json" if scoring else None,
        "kind": "K8S",
        "namespace": (cr.get("metadata") or {}).get("namespace"),
    }


def wait_for(
    cluster: Cluster, namespace: str, name: str, done: Callable[[dict[str, Any]], bool], timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        cr = get_cr(cluster, namespace, name)
        if cr is not None and done(cr):
            return cr
        if time.monotonic() > deadline:
            raise OperationTimeout(f"timed out waiting for {what}", hint="is the operator running? mlk extension show")
        time.sleep(0.2)


def create(
    ws: Workspace, spec: Mapping[str, Any], compute: Mapping[str, Any], *, wait: bool, say: Say
) -> dict[str, Any]:
    name, namespace = str(spec["name"]), str(compute["namespace"])
    if spec.get("auth_mode") == "aad_token":
        raise UsageError("aad_token is for managed endpoints; use key or aml_token")
    with connect(ws, compute) as cluster:
        if get_cr(cluster, namespace, name) is not None:
            raise ConflictError(
                f"online endpoint '{name}' already exists in {compute['name']}/{namespace}",
                hint=f"change it with mlk online-endpoint update -n {name}",
            )
        cluster.apply(crs.endpoint_cr(dict(spec), namespace, compute=str(compute["name"])))
        with desired.mutate(ws) as state:
            state["endpoints"][name] = {
                "spec": dict(spec),
                "compute": compute["name"],
                "traffic": {},
                "mirror_traffic": {},
                "deployments": {},
                "created": time.time(),
                "operation": None,
            }
        cr = get_cr(cluster, namespace, name) or {}
        if wait:
            cr = wait_for(
                cluster,
                namespace,
                name,
                lambda c: (c.get("status") or {}).get("state") == "Succeeded",
                OPERATOR_WAIT,
                f"the operator to set up endpoint {name}",
            )
        say(f"endpoint {name} created in {compute['name']}/{namespace}")
        return view(name, cr, str(compute["name"]))


def show(ws: Workspace, name: str, compute: Mapping[str, Any]) -> dict[str, Any]:
    with connect(ws, compute) as cluster:
        cr = get_cr(cluster, str(compute["namespace"]), name)
        if cr is None:
            raise NotFoundError(
                f"online endpoint '{name}' is gone from {compute['name']}",
                hint="it was deleted in the cluster; mlk online-endpoint delete forgets it",
            )
        return view(name, cr, str(compute["name"]))


def update(
    ws: Workspace,
    name: str,
    compute: Mapping[str, Any],
    *,
    spec: Mapping[str, Any] | None,
    traffic: Mapping[str, int] | None,
    mirror: Mapping[str, int] | None,
) -> dict[str, Any]:
    namespace = str(compute["namespace"])
    with connect(ws, compute) as cluster:
        cr = get_cr(cluster, namespace, name)
        if cr is None:
            raise NotFoundError(f"online endpoint '{name}' is not in the cluster")
        deployments = [
            str((d["metadata"].get("labels") or {}).get(names.LABEL_DEPLOYMENT))
            for d in cluster.list(
                names.API_VERSION,
                "OnlineDeployment",
                namespace,
                label_selector=f"{names.LABEL_ENDPOINT}={names.canonical(name)}",
            )
        ]
        current = cr.get("spec") or {}
        new_traffic = (
            {**dict.fromkeys(current.get("traffic") or {}, 0), **(traffic or {})}
            if traffic is not None
            else dict((spec or {}).get("traffic") or current.get("traffic") or {})
        )
        new_mirror = dict(
            mirror if mirror is not None else (spec or {}).get("mirror_traffic") or current.get("mirror_traffic") or {}
        )
        new_traffic = {names.canonical(k): v for k, v in new_traffic.items()}  # Azure names have no case
        new_mirror = {names.canonical(k): v for k, v in new_mirror.items()}
        check_traffic(deployments, new_traffic, new_mirror)
        body = {"spec": {"traffic": new_traffic, "mirror_traffic": new_mirror}}
        if spec is not None:
            body["spec"].update({k: spec[k] for k in ("description", "tags") if k in spec})
        cluster.patch_merge(names.API_VERSION, "OnlineEndpoint", names.canonical(name), body, namespace)
        cr = wait_for(
            cluster,
            namespace,
            name,
            lambda c: (c.get("status") or {}).get("traffic") == new_traffic,
            OPERATOR_WAIT,
            f"the operator to apply the traffic of {name}",
        )
        return view(name, cr, str(compute["name"]))


def delete(ws: Workspace, name: str, compute: Mapping[str, Any], timeout: float = 120) -> None:
    namespace = str(compute["namespace"])
    with connect(ws, compute) as cluster:
        cluster.delete(names.API_VERSION, "OnlineEndpoint", names.canonical(name), namespace)
        deadline = time.monotonic() + timeout
        while get_cr(cluster, namespace, name) is not None:
            if time.monotonic() > deadline:
                raise OperationTimeout(f"endpoint {name} is still being deleted", hint="the operator removes it")
            time.sleep(0.2)
    with desired.mutate(ws) as state:
        state["endpoints"].pop(name, None)


def read_keys(cluster: Cluster, namespace: str, name: str) -> dict[str, str]:
    secret = cluster.get("v1", "Secret", names.keys_secret_name(name), namespace)
    if secret is None:
        raise OperationTimeout(f"the keys of endpoint {name} are not there yet", hint="the operator creates them")
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def credentials(cluster: Cluster, namespace: str, name: str, auth_mode: str) -> dict[str, Any]:
    """Keys, or a token signed for the name the in-cluster router knows the endpoint by."""
    return keys_of.present(names.canonical(name), read_keys(cluster, namespace, name), auth_mode)


def get_credentials(ws: Workspace, name: str, compute: Mapping[str, Any]) -> dict[str, Any]:
    namespace = str(compute["namespace"])
    with connect(ws, compute) as cluster:
        cr = get_cr(cluster, namespace, name)
        if cr is None:
            raise NotFoundError(f"online endpoint '{name}' is not in the cluster")
        return credentials(cluster, namespace, name, str((cr.get("spec") or {}).get("auth_mode", "key")))


def regenerate(ws: Workspace, name: str, compute: Mapping[str, Any], which: str) -> None:
    import secrets as csprng

    field = "primaryKey" if which == "primary" else "secondaryKey"
    value = base64.b64encode(csprng.token_urlsafe(32).encode()).decode()
    with connect(ws, compute) as cluster:
        namespace = str(compute["namespace"])
        cluster.patch_merge("v1", "Secret", names.keys_secret_name(name), {"data": {field: value}}, namespace)
        # the operator copies the keys to where the routers read them when the endpoint changes
        rotated = {"metadata": {"annotations": {KEYS_ROTATED: f"{time.time():.3f}"}}}
        cluster.patch_merge(names.API_VERSION, "OnlineEndpoint", names.canonical(name), rotated, namespace)
