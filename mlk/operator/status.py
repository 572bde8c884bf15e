"""What an OnlineDeployment's status says, worked out from its Deployment and pods (pure).

The point is the real reason: not "not ready" but ImagePullBackOff with the image name, the init()
traceback from the container's last lines, or the scheduler's Unschedulable message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

WAITING_FAILURES = {
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def pod_problem(pods: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(reason, message) of the first pod that is failing for a reason worth showing, if any."""
    for pod in pods:
        status = pod.get("status") or {}
        for condition in status.get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                return condition.get("reason") or "Unschedulable", condition.get("message") or ""
        for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            state = container.get("state") or {}
            waiting = state.get("waiting") or {}
            if waiting.get("reason") in WAITING_FAILURES:
                return waiting["reason"], f"{container.get('name')}: {waiting.get('message') or ''}".strip()
            last = (container.get("lastState") or {}).get("terminated") or {}
            if last.get("exitCode") not in (None, 0):
                return "CrashLoopBackOff", (
                    f"{container.get('name')} exited with code {last['exitCode']}"
                    f"{' (init() failed)' if last['exitCode'] == 3 else ''}"
                )
    return None


def failing_container(pods: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(pod, container) whose log explains the failure: a crashing or unstartable container, init first."""
    for pod in pods:
        status = pod.get("status") or {}
        for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            waiting = (container.get("state") or {}).get("waiting") or {}
            last = (container.get("lastState") or {}).get("terminated") or {}
            if waiting.get("reason") in WAITING_FAILURES or last.get("exitCode") not in (None, 0):
                return str(pod["metadata"]["name"]), str(container.get("name"))
    return None


def deployment_status(
    deployment: Mapping[str, Any] | None, pods: Sequence[Mapping[str, Any]], generation: int, logs: str = ""
) -> dict[str, Any]:
    """The OnlineDeployment status for the current state of its workload."""
    spec = (deployment or {}).get("spec") or {}
    observed = (deployment or {}).get("status") or {}
    wanted = int(spec.get("replicas") or 0)
    ready = int(observed.get("readyReplicas") or 0)
    up_to_date = observed.get("observedGeneration", 0) >= (deployment or {}).get("metadata", {}).get("generation", 0)
    problem = pod_problem(pods)
    if deployment is not None and ready >= wanted and up_to_date and (wanted > 0 or problem is None):
        state, reason, message = "Succeeded", "ReplicasReady", f"{ready}/{wanted} replicas ready"
    elif problem is not None:
        state, (reason, message) = "Failed", problem
        if logs:
            message = f"{message}\n{logs}"
    else:
        state, reason, message = (
            ("Updating" if generation > 1 else "Creating"),
            "ReplicasStarting",
            f"{ready}/{wanted} replicas ready",
        )
    return {
        "state": state,
        "replicas": wanted,
        "readyReplicas": ready,
        "readyText": f"{ready}/{wanted}",
        "observedGeneration": generation,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if state == "Succeeded" else "False",
                "reason": reason,
                "message": message[-4000:],
                "lastTransitionTime": _now(),
            }
        ],
    }
