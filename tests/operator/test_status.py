"""The OnlineDeployment status from a Deployment and its pods (pure): Succeeded only when rolled out,
conditions as Kubernetes API conventions have them."""

from __future__ import annotations

from typing import Any

from mlk.operator.status import condition, deployment_status


def _deployment(generation: int = 2, **status: int) -> dict[str, Any]:
    observed = {"observedGeneration": generation, **status}
    return {"metadata": {"generation": generation}, "spec": {"replicas": 1}, "status": observed}


def _pod(ready: bool, exit_code: int | None = None, waiting: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "inference-server", "ready": ready, "state": {}}
    if exit_code is not None:
        container["lastState"] = {"terminated": {"exitCode": exit_code}}
    if waiting:
        container["state"] = {"waiting": {"reason": waiting, "message": "back-off 10s"}}
    return {"metadata": {"name": "p"}, "status": {"containerStatuses": [container]}}


def test_an_old_ready_pod_beside_a_crashing_new_one_is_a_failed_update() -> None:
    # what the Deployment reports mid-rollout: 2 pods, 1 ready (the old one), 1 updated (the new one)
    workload = _deployment(replicas=2, readyReplicas=1, availableReplicas=1, updatedReplicas=1)
    status = deployment_status(workload, [_pod(True), _pod(False, 3, "CrashLoopBackOff")], generation=2)
    assert status["state"] == "Failed"
    assert status["conditions"][0]["reason"] == "CrashLoopBackOff"


def test_succeeded_only_when_updated_ready_and_desired_agree_for_this_generation() -> None:
    done = _deployment(replicas=1, readyReplicas=1, availableReplicas=1, updatedReplicas=1)
    assert deployment_status(done, [_pod(True)], generation=2)["state"] == "Succeeded"
    stale = {**done, "status": {**done["status"], "observedGeneration": 1}}
    assert deployment_status(stale, [_pod(True)], generation=2)["state"] == "Updating"
    old_left = _deployment(replicas=2, readyReplicas=1, availableReplicas=1, updatedReplicas=1)
    assert deployment_status(old_left, [_pod(True), _pod(False)], generation=2)["state"] == "Updating"


def test_a_crash_the_container_got_over_is_no_failure() -> None:
    done = _deployment(replicas=1, readyReplicas=1, availableReplicas=1, updatedReplicas=1)
    assert deployment_status(done, [_pod(True, exit_code=1)], generation=2)["state"] == "Succeeded"


def test_progress_deadline_exceeded_is_failed() -> None:
    stuck = _deployment(replicas=1, updatedReplicas=1)
    stuck["status"]["conditions"] = [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}
    ]
    status = deployment_status(stuck, [_pod(False)], generation=2)
    assert status["state"] == "Failed" and status["conditions"][0]["reason"] == "ProgressDeadlineExceeded"


def test_conditions_carry_observed_generation_and_keep_their_transition_time() -> None:
    first = condition("Ready", False, "ReplicasStarting", "0/1", 3)
    assert first["observedGeneration"] == 3 and first["lastTransitionTime"]
    earlier = {**first, "lastTransitionTime": "2020-01-01T00:00:00Z"}
    same = condition("Ready", False, "CrashLoopBackOff", "exited", 3, [earlier])
    assert same["lastTransitionTime"] == "2020-01-01T00:00:00Z"  # the reason changed, the status did not
    flipped = condition("Ready", True, "ReplicasReady", "1/1", 3, [earlier])
    assert flipped["lastTransitionTime"] != "2020-01-01T00:00:00Z"
