"""An AmlJob's status from its pods and Job: Azure's statuses, with the real reason when it fails."""

from __future__ import annotations

from typing import Any

from mlk.operator.jobs import job_status

INDEX = "batch.kubernetes.io/job-completion-index"


def _pod(
    rank: int = 0,
    phase: str = "Pending",
    init: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    uploader: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": conditions or []}
    if init is not None:
        status["initContainerStatuses"] = [{"name": "storage-initializer", "state": init}]
    if training is not None or uploader is not None:
        status["containerStatuses"] = [
            {"name": "training", "state": training or {"waiting": {"reason": "PodInitializing"}}},
            {"name": "uploader", "state": uploader or {"waiting": {"reason": "PodInitializing"}}},
        ]
    return {"metadata": {"name": f"job-{rank}-x", "annotations": {INDEX: str(rank)}}, "status": status}


RUNNING = {"running": {"startedAt": "now"}}
DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}


def test_the_way_to_completed() -> None:
    assert job_status(None, [], 2)[0] == "Queued"
    assert job_status(None, [_pod(), _pod(1)], 2)[0] == "Queued"
    assert job_status(None, [_pod(init=RUNNING), _pod(1)], 2)[0] == "Preparing"
    assert job_status(None, [_pod(init=DONE, training=RUNNING, uploader=RUNNING)], 1)[0] == "Running"
    assert job_status(None, [_pod(init=DONE, training=DONE, uploader=RUNNING)], 1)[0] == "Finalizing"
    assert job_status(None, [_pod(phase="Succeeded", init=DONE, training=DONE, uploader=DONE)], 2)[0] != "Completed"
    done = [_pod(r, "Succeeded", DONE, DONE, DONE) for r in (0, 1)]
    assert job_status(None, done, 2) == ("Completed", None, None)


def test_failures_carry_their_reason_and_the_container_to_read() -> None:
    unschedulable = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}
    status, error, _ = job_status(None, [_pod(conditions=[unschedulable])], 1)
    assert (status, error) == ("Failed", ("Unschedulable", "0/1 nodes"))

    pull = {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}
    status, error, _ = job_status(None, [_pod(init=DONE, training=pull, uploader=RUNNING)], 1)
    assert status == "Failed" and error is not None and error[0] == "ImagePullBackOff"

    oom = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    status, error, explaining = job_status(None, [_pod(1, "Failed", DONE, oom, RUNNING)], 2)
    assert status == "Failed" and error == ("OOMKilled", "training of rank 1 ran out of memory")
    assert explaining == ("job-1-x", "training")

    failed = {"terminated": {"exitCode": 3, "reason": "Error"}}
    # the command failed but rank 0's uploader is still sending what it wrote: Finalizing, then Failed
    assert job_status(None, [_pod(0, "Running", DONE, failed, RUNNING)], 1)[0] == "Finalizing"
    status, error, explaining = job_status(None, [_pod(0, "Failed", DONE, failed, failed)], 1)
    assert error == ("ExitCode", "the command exited with code 3 (rank 0)") and explaining == ("job-0-x", "training")

    init_failed = {"terminated": {"exitCode": 1, "reason": "Error"}}
    status, error, explaining = job_status(None, [_pod(init=init_failed)], 1)
    assert error is not None and "storage-initializer exited with code 1" in error[1]
    assert explaining == ("job-0-x", "storage-initializer")


def test_the_job_controllers_verdict() -> None:
    deadline = {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}}
    assert job_status(deadline, [], 1)[:2] == ("Failed", ("DeadlineExceeded", ""))
    volcano = {"status": {"state": {"phase": "Aborted", "message": "pod failed"}}}
    assert job_status(volcano, [], 1)[:2] == ("Failed", ("VolcanoAborted", "pod failed"))
