"""An OnlineDeployment's status follows its Deployment and pods, read from kopf's indexes.

kopf lists and watches only mlk's objects (server-side label selectors, set at start-up in
mlk.operator.__main__), keeps them in indexes, and a pod event costs no API read: the workload, its
OnlineDeployment and its pods come from the indexes; the API is written only when the status changes
(and read for the failing container's last log lines, only when a deployment fails).
"""

from __future__ import annotations

from typing import Any

import kopf

from mlk.operator.handlers import cluster
from mlk.operator.status import deployment_status, failing_container
from mlk.render import names

MANAGED = {names.LABEL_MANAGED_BY: names.MANAGED_BY}
INFERENCE_PODS = {**MANAGED, names.LABEL_COMPONENT: "inference-server"}
Key = tuple[str, str, str]  # (namespace, canonical endpoint, canonical deployment)


def selector(labels: dict[str, str]) -> str:
    """A label selector (the API's syntax) for these labels."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _key(namespace: str | None, labels: Any) -> Key | None:
    endpoint, deployment = (labels or {}).get(names.LABEL_ENDPOINT), (labels or {}).get(names.LABEL_DEPLOYMENT)
    if namespace is None or not endpoint or not deployment:
        return None
    return namespace, str(endpoint), str(deployment)


@kopf.index("", "v1", "pods", labels=INFERENCE_PODS)
def inference_pods(namespace: str | None, labels: kopf.Labels, body: kopf.Body, **_: Any) -> dict[Key, Any] | None:
    key = _key(namespace, labels)
    return {key: dict(body)} if key else None


@kopf.index("apps", "v1", "deployments", labels=MANAGED)
def workloads(namespace: str | None, labels: kopf.Labels, body: kopf.Body, **_: Any) -> dict[Key, Any] | None:
    key = _key(namespace, labels)
    return {key: dict(body)} if key else None


@kopf.index(names.GROUP, names.VERSION, "onlinedeployments")
def online_deployments(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[tuple[str, str], Any]:
    return {(str(namespace), name): dict(body)}


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
@kopf.on.event("", "v1", "pods", labels=INFERENCE_PODS)
def workload_or_pod_changed(namespace: str | None, labels: kopf.Labels, **indexes: Any) -> None:
    """A child Deployment or one of its pods changed (a crash loop changes no Deployment field).
    `indexes`: kopf passes each index by its function's name."""
    key = _key(namespace, labels)
    if key is None:
        return
    workload = next(iter(indexes["workloads"].get(key, [])), None)
    if workload is None:
        return
    owner = next(
        (r for r in workload.get("metadata", {}).get("ownerReferences") or [] if r.get("kind") == "OnlineDeployment"),
        None,
    )
    if owner is None:
        return
    parent = next(iter(indexes["online_deployments"].get((key[0], owner["name"]), [])), None)
    if parent is not None:
        refresh(key[0], owner["name"], parent, workload, list(indexes["inference_pods"].get(key, [])))


def refresh(namespace: str, name: str, parent: Any, workload: Any, pods: list[Any]) -> None:
    generation = int(parent.get("metadata", {}).get("generation") or 1)
    previous = (parent.get("status") or {}).get("conditions") or []
    status = deployment_status(workload, pods, generation, previous=previous)
    failing = failing_container(pods) if status["state"] == "Failed" else None
    if failing is not None:
        try:
            logs = cluster().pod_log(namespace, failing[0], failing[1], tail_lines=30)
        except Exception:  # a container that never started has no log to show
            logs = ""
        if logs:
            status = deployment_status(workload, pods, generation, logs, previous)
    if untimed(parent.get("status") or {}) != untimed(status):  # pod events are many: write only changes
        cluster().patch_status(names.API_VERSION, "OnlineDeployment", name, {"status": status}, namespace)


def untimed(status: dict[str, Any]) -> dict[str, Any]:
    conditions = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions") or []]
    return {**{k: v for k, v in status.items() if k != "autoscaler"}, "conditions": conditions}
