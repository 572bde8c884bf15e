"""Taking the extension out of a cluster without leaving anything stuck: custom resources go while the
operator still runs (it releases their finalizers), then the extension's objects, and the command waits
until its namespace and CRDs are gone, as kubectl delete waits (a reinstall right after must not meet a
namespace that takes no new content)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlk.errors import ConflictError, ExternalError, NotFoundError
from mlk.k8s.cluster import Cluster

Say = Callable[[str], None]
RECORD = "mlk-extension"
"""The ConfigMap of the extension's namespace that records how it was installed."""


def endpoints(cluster: Cluster) -> list[str]:
    from mlk.render.names import API_VERSION

    try:
        found = cluster.list(API_VERSION, "OnlineEndpoint")
    except NotFoundError:
        return []
    live = [o for o in found if not o["metadata"].get("deletionTimestamp")]  # one being deleted is going anyway
    return sorted(f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in live)


def exists(cluster: Cluster, obj: Mapping[str, Any]) -> dict[str, Any] | None:
    meta = obj["metadata"]
    return cluster.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


def wait_gone_if_terminating(cluster: Cluster, obj: Mapping[str, Any], say: Say) -> None:
    """An object of the same name still being deleted (an uninstall just before) takes no new content."""
    deadline = time.monotonic() + RELEASE_TIMEOUT
    announced = False
    while (found := exists(cluster, obj)) and found["metadata"].get("deletionTimestamp"):
        if not announced:
            say(f"{obj['kind']} {obj['metadata']['name']} is still being deleted; waiting for it to go")
            announced = True
        if time.monotonic() > deadline:
            raise ExternalError(
                f"{obj['kind']} {obj['metadata']['name']} is still terminating after {RELEASE_TIMEOUT:.0f} s",
                hint="kubectl get KIND NAME -o yaml shows what holds it (finalizers, status.conditions)",
            )
        time.sleep(0.5)


# Deleted children first: a deployment's finalizer is released before its endpoint's.
CUSTOM_KINDS = ("OnlineDeployment", "OnlineEndpoint", "InstanceType")
RELEASE_TIMEOUT = 60.0


def _custom_objects(cluster: Cluster, kind: str) -> list[dict[str, Any]]:
    from mlk.render.names import API_VERSION

    try:
        return cluster.list(API_VERSION, kind)
    except NotFoundError:
        return []


def remove_custom_objects(cluster: Cluster, say: Say, timeout: float = RELEASE_TIMEOUT) -> None:
    """Delete every mlk custom resource while the operator still runs, so that it releases their
    finalizers; whatever still holds one after `timeout` (the operator is gone or stuck) has it removed.
    Deleting CRDs first would leave them Terminating for ever behind finalizers nobody releases."""
    from mlk.render.names import API_VERSION

    for kind in CUSTOM_KINDS:
        for obj in _custom_objects(cluster, kind):
            meta = obj["metadata"]
            if not meta.get("deletionTimestamp"):
                cluster.delete(API_VERSION, kind, meta["name"], meta.get("namespace"))
        deadline = time.monotonic() + timeout
        while (left := _custom_objects(cluster, kind)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for obj in left:
            meta = obj["metadata"]
            where = f"{meta.get('namespace', '')}/{meta['name']}"
            say(f"{kind} {where}: the operator did not release it; removing its finalizers")
            cluster.patch_merge(
                API_VERSION, kind, meta["name"], {"metadata": {"finalizers": None}}, meta.get("namespace")
            )


def delete(cluster: Cluster, namespace: str, objects: Sequence[Mapping[str, Any]], *, force: bool, say: Say) -> None:
    existing = endpoints(cluster)
    if existing and not force:
        raise ConflictError(
            f"{len(existing)} endpoint(s) still run on this extension: {', '.join(existing)}",
            hint="delete them first, or pass --force (their workloads go with the CRDs)",
        )
    remove_custom_objects(cluster, say)
    for obj in reversed(list(objects)):
        meta = obj.get("metadata", {})
        cluster.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
    # as kubectl delete waits: a reinstall right after must not meet a namespace or CRD still terminating
    lasting = [o for o in objects if o["kind"] in ("Namespace", "CustomResourceDefinition")]
    deadline = time.monotonic() + RELEASE_TIMEOUT
    while (left := [o for o in lasting if exists(cluster, o)]) and time.monotonic() < deadline:
        time.sleep(0.3)
    if left:
        raise ExternalError(
            "still terminating after "
            f"{RELEASE_TIMEOUT:.0f} s: {', '.join(o['kind'] + ' ' + o['metadata']['name'] for o in left)}",
            hint="kubectl get KIND NAME -o yaml shows what holds it (finalizers, status.conditions)",
        )
    cluster.delete("v1", "ConfigMap", RECORD, namespace)
    say(f"deleted {len(objects)} objects")
