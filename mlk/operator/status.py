"""What an OnlineDeployment's status says, worked out from its Deployment and pods (pure).

The point is the real reason: not "not ready" but ImagePullBackOff with the image name, the init()
traceback from the container's last lines, or the scheduler's Unschedulable message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from mlk.errors import EXIT_BOOT_FAILED

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


def condition(
    kind: str,
    ready: bool,
    reason: str,
    message: str,
    generation: int | None,
    previous: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A condition as Kubernetes API conventions have it: lastTransitionTime moves only when status does."""
    status = "True" if ready else "False"
    old = next((c for c in previous if c.get("type") == kind), None)
    since = old.get("lastTransitionTime") if old is not None and old.get("status") == status else None
    out: dict[str, Any] = {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since or _now(),
    }
    if generation is not None:
        out["observedGeneration"] = generation
    return out


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
            if last.get("exitCode") not in (None, 0) and not container.get("ready"):  # a crash it got over is none
                return "CrashLoopBackOff", (
                    f"{container.get('name')} exited with code {last['exitCode']}"
                    f"{' (init() failed)' if last['exitCode'] == EXIT_BOOT_FAILED else ''}"
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


def rolled_out(deployment: Mapping[str, Any] | None) -> tuple[bool, int, int]:
    """(done, wanted, ready): the Deployment's controller has seen its current generation and its updated,
    ready and total replicas all equal the desired count (no old pod left serving in their place)."""
    if deployment is None:
        return False, 0, 0
    spec, observed = deployment.get("spec") or {}, deployment.get("status") or {}
    replicas = spec.get("replicas")
    wanted = 1 if replicas is None else int(replicas)
    ready = int(observed.get("readyReplicas") or 0)
    seen = int(observed.get("observedGeneration") or 0) >= int(
        (deployment.get("metadata") or {}).get("generation") or 0
    )
    counts = (
        int(observed.get("updatedReplicas") or 0),
        ready,
        int(observed.get("availableReplicas") or 0),
        int(observed.get("replicas") or 0),
    )
    return seen and all(c == wanted for c in counts), wanted, ready


def stalled(deployment: Mapping[str, Any] | None) -> str | None:
    """The Deployment controller's own verdict that the rollout cannot finish (progressDeadlineSeconds)."""
    for cond in ((deployment or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return str(cond.get("message") or "the rollout exceeded its progress deadline")
    return None


def deployment_status(
    deployment: Mapping[str, Any] | None,
    pods: Sequence[Mapping[str, Any]],
    generation: int,
    logs: str = "",
    previous: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The OnlineDeployment status for the current state of its workload.

    Succeeded only when the current generation is rolled out everywhere: an old ready pod beside a
    crash-looping new one is a Failed update, not a success."""
    done, wanted, ready = rolled_out(deployment)
    problem = pod_problem(pods)
    deadline = stalled(deployment)
    if done and problem is None:
        state, reason, message = "Succeeded", "ReplicasReady", f"{ready}/{wanted} replicas ready"
    elif problem is not None or deadline is not None:
        state, (reason, message) = "Failed", problem or ("ProgressDeadlineExceeded", deadline or "")
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
        "conditions": [condition("Ready", state == "Succeeded", reason, message[-4000:], generation, previous)],
    }
