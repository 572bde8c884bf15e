"""The AmlJob controller (enableTraining): a command job becomes its workload (mlk.render.jobs), and its
status follows the pods with Azure's statuses and the real reasons.

Create → the job's read-write storage Secret, its pull Secret, its MLflow run and credentials Secret
(mlk.operator.tracking), then the indexed Job and headless Service (or the Volcano Job), all owned by the
AmlJob: deleting it deletes them. A timer reads the pods and the Job every few seconds until the status is
terminal (and the run is closed), copying the run's metrics into the status; `job_status` is the pure
mapping. A job failing for
a reason its pods cannot get over (Unschedulable, an image that cannot be pulled, OOMKilled) has its
workload deleted, so nothing waits on forever; a command's own failure ends its pods by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import kopf

from mlk.errors import MlkError, SpecError
from mlk.operator import registry, storage, tracking
from mlk.operator.handlers import SYSTEM_IMAGE, cluster
from mlk.operator.status import WAITING_FAILURES
from mlk.render import names
from mlk.render.jobs import INITIALIZER, LABEL_JOB, TRAINING, UPLOADER, bound_paths, job_objects, object_name
from mlk.render.workload import owned_by
from mlk.specs.bindings import bind

TERMINAL = ("Completed", "Failed", "Canceled")
"""As mlk.compute.base.JOB_TERMINAL (the operator sits below compute)."""
POLL_S = 2.0
METRICS_EVERY_S = 10.0
TRACKING_RETRIES = 12
"""Tries (5 s apart) to open a job's run while the tracking server starts; then the job runs untracked."""
LOG_LINES = 30


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _containers(pod: Mapping[str, Any], init: bool) -> list[Mapping[str, Any]]:
    status = pod.get("status") or {}
    return list(status.get("initContainerStatuses" if init else "containerStatuses") or [])


def _rank(pod: Mapping[str, Any]) -> str:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return str(
        annotations.get("batch.kubernetes.io/job-completion-index", annotations.get("volcano.sh/task-index", "?"))
    )


def _running(pod: Mapping[str, Any], container: str) -> bool:
    return any(c.get("name") == container and "running" in (c.get("state") or {}) for c in _containers(pod, False))


def _workload_failure(workload: Mapping[str, Any] | None) -> tuple[str, str] | None:
    status = (workload or {}).get("status") or {}
    for cond in status.get("conditions") or []:  # batch/v1: the Job controller's verdict
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return str(cond.get("reason") or "JobFailed"), str(cond.get("message") or "")
    phase = (status.get("state") or {}).get("phase")  # Volcano
    if phase in ("Failed", "Aborted", "Terminated"):
        return f"Volcano{phase}", str((status.get("state") or {}).get("message") or "")
    return None


def _pod_failure(pod: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    """(reason, message, container whose log explains it) of a pod that has failed, or None."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False" and cond.get("reason"):
            return str(cond["reason"]), str(cond.get("message") or ""), None
    for init in (True, False):
        for container in _containers(pod, init):
            name = str(container.get("name"))
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in WAITING_FAILURES:
                return str(waiting["reason"]), f"{name}: {waiting.get('message') or ''}".strip(), None
            ended = (container.get("state") or {}).get("terminated") or {}
            if ended.get("reason") == "OOMKilled":
                return "OOMKilled", f"{name} of rank {_rank(pod)} ran out of memory", name
            code = ended.get("exitCode")
            if name == TRAINING and _running(pod, UPLOADER):  # failed, but its outputs are on their way: Finalizing
                continue
            if code not in (None, 0) and name != UPLOADER:  # the uploader repeats the command's code
                what = "the command" if name == TRAINING else name
                return "ExitCode", f"{what} exited with code {code} (rank {_rank(pod)})", name
    return None


def job_status(
    workload: Mapping[str, Any] | None, pods: Sequence[Mapping[str, Any]], instances: int
) -> tuple[str, tuple[str, str] | None, tuple[str, str] | None]:
    """(Azure's status, (reason, message) when Failed, (pod, container) whose last lines explain it)."""
    for pod in pods:
        failure = _pod_failure(pod)
        if failure is not None:
            container = (str(pod["metadata"]["name"]), failure[2]) if failure[2] else None
            return "Failed", (failure[0], failure[1]), container
    failed = _workload_failure(workload)
    if failed is not None:
        return "Failed", failed, None
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    if len(pods) >= instances and all(phase == "Succeeded" for phase in phases):
        return "Completed", None, None
    states = {
        (str(c.get("name")), next(iter(c.get("state") or {"waiting": {}}))) for p in pods for c in _containers(p, False)
    }
    if (TRAINING, "terminated") in states and (UPLOADER, "running") in states:
        return "Finalizing", None, None
    if (TRAINING, "running") in states:
        return "Running", None, None
    initializing = [c for p in pods for c in _containers(p, True) if c.get("name") == INITIALIZER]
    if any("running" in (c.get("state") or {}) or "terminated" in (c.get("state") or {}) for c in initializing):
        return "Preparing", None, None
    return "Queued", None, None


def _instance_type(spec: Mapping[str, Any]) -> dict[str, Any]:
    wanted = str(spec.get("instance_type") or names.DEFAULT_INSTANCE_TYPE)
    found = cluster().get(names.API_VERSION, "InstanceType", wanted)
    if found is None:
        raise ValueError(f"instance type '{wanted}' does not exist in the cluster (kubectl get instancetypes.mlk.dev)")
    return found


def _job_secret(body: Mapping[str, Any], source: str, timeout: int | None) -> str:
    """The pods' read-write storage Secret (the uploader writes outputs), valid for the whole run."""
    from mlk.storage.config import StorageConfig
    from mlk.storage.jobupload import write_url

    namespace = str(body["metadata"]["namespace"])
    hours = max(48.0, (timeout or 7 * 24 * 3600) / 3600 + 24)
    try:
        config, _ = write_url(StorageConfig(**storage._workspace_config(cluster(), namespace, source)), hours)
    except storage.MissingStorage as exc:
        raise kopf.TemporaryError(str(exc), delay=10) from exc
    import json

    name = names.k8s_name(object_name(str(body["metadata"]["name"])), "storage")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": names.base_labels("storage")},
        "stringData": {"storage.json": json.dumps(config)},
    }
    cluster().apply(owned_by(secret, body))
    return name


def _tracked(body: kopf.Body, job: Mapping[str, Any], patch: kopf.Patch, retry: int) -> tuple[dict[str, str], str]:
    """The job's MLflow run (opened once: a resumed job keeps its own) and its credentials Secret:
    ({tracking_uri, run_id, experiment_id}, the Secret's name); ({}, "") without a tracking server."""
    found = tracking.server()
    if found is None:
        return {}, ""
    status = body.get("status") or {}
    run = {k: str(status[k]) for k in ("run_id", "experiment_id") if status.get(k)}
    if "run_id" not in run:
        try:
            run = tracking.start_run(found, job)
        except MlkError as exc:
            if retry < TRACKING_RETRIES:
                raise kopf.TemporaryError(f"the tracking server: {exc.message}", delay=5) from exc
            patch.status["message"] = f"running without MLflow tracking: {exc.message}"
            return {}, ""
        patch.status.update({**run, "metrics": {}, "params": {}})
    name = names.k8s_name(object_name(str(body["metadata"]["name"])), "tracking")
    cluster().apply(owned_by(tracking.job_secret(found, name, str(body["metadata"]["namespace"])), body))
    return {"tracking_uri": found.uri, **run}, name


@kopf.on.resume(names.GROUP, names.VERSION, "amljobs")
@kopf.on.create(names.GROUP, names.VERSION, "amljobs")
def start_job(body: kopf.Body, namespace: str | None, spec: kopf.Spec, patch: kopf.Patch, retry: int, **_: Any) -> None:
    assert namespace is not None  # AmlJob is namespaced
    if (body.get("status") or {}).get("status") in TERMINAL:
        return
    job = dict(spec)
    try:
        instance_type = _instance_type(job)
        secret = _job_secret(body, str(job["storage_secret"]), job.get("timeout"))
        pull = registry.ensure(cluster(), body, str(job["registry_secret"])) if job.get("registry_secret") else None
        run, credentials = _tracked(body, job, patch, retry)
        objects = job_objects(
            {**job, **run},
            namespace=namespace,
            queue=job.get("queue"),
            command=bind(str(job["command"]), *bound_paths(job)),
            image=str(job["image"]),
            system_image=SYSTEM_IMAGE,
            storage_secret=secret,
            instance_type=instance_type,
            run_id=str(body["metadata"]["uid"]),
            image_pull_secret=pull or job.get("image_pull_secret"),
            tracking_secret=credentials or None,
        )
    except (ValueError, KeyError) as exc:
        patch.status.update(_failed("InvalidSpec", str(exc)))
        raise kopf.PermanentError(str(exc)) from exc
    except registry.MissingRegistry as exc:
        raise kopf.TemporaryError(str(exc), delay=10) from exc
    try:
        for obj in objects:
            cluster().apply(owned_by(obj, body))
    except SpecError as exc:  # the API server refused the workload (422): retrying cannot help
        patch.status.update(_failed("InvalidSpec", exc.message))
        raise kopf.PermanentError(exc.message) from exc
    if not (body.get("status") or {}).get("status"):
        patch.status.update({"status": "Queued", "message": "waiting for the pods"})


def _failed(reason: str, message: str) -> dict[str, Any]:
    return {"status": "Failed", "error": {"reason": reason, "message": message[-4000:]}, "end_time": _now()}


def _active(status: Mapping[str, Any], **_: Any) -> bool:
    """Followed until terminal, and then until its run is closed (a job the CLI canceled included)."""
    status = status or {}
    return status.get("status") not in TERMINAL or bool(status.get("run_id") and not status.get("run_ended"))


_log = logging.getLogger(__name__)
_failures: dict[str, int] = {}
"""AmlJob uid → tracking calls failed in a row."""
CLOSE_TRIES = 30
_copied: dict[str, float] = {}
"""AmlJob uid → when its metrics were last copied (this operator process's memory: a restart copies anew)."""


def _run_update(body: Mapping[str, Any], state: str) -> dict[str, Any]:
    """The run's latest metrics and params every METRICS_EVERY_S, and its close once the job has ended."""
    status, uid = body.get("status") or {}, str(body["metadata"]["uid"])
    ended = state in TERMINAL
    if not status.get("run_id") or (not ended and time.monotonic() - _copied.get(uid, 0.0) < METRICS_EVERY_S):
        return {}
    found = tracking.server()
    if found is None:
        return {"run_ended": True} if ended else {}
    _copied[uid] = time.monotonic()
    try:
        update = tracking.latest(found, str(status["run_id"]))
        if ended:
            tracking.end_run(found, str(status["run_id"]), state)
            update["run_ended"] = True
            _copied.pop(uid, None)
    except MlkError as exc:  # the server restarting: the next tick tries again, for a while
        _log.warning("job %s: the tracking server: %s", body["metadata"]["name"], exc.message)
        _failures[uid] = _failures.get(uid, 0) + 1
        if ended and _failures[uid] >= CLOSE_TRIES:  # an ended job is not followed forever
            _failures.pop(uid, None)
            return {"run_ended": True, "message": f"its MLflow run was left open: {exc.message}"}
        return {}
    _failures.pop(uid, None)
    return update


@kopf.timer(names.GROUP, names.VERSION, "amljobs", interval=POLL_S, when=_active)
def follow_job(body: kopf.Body, name: str, namespace: str | None, spec: kopf.Spec, **_: Any) -> None:
    assert namespace is not None
    obj = object_name(str(spec.get("name") or name))
    api, kind = ("batch.volcano.sh/v1alpha1", "Job") if spec.get("queue") else ("batch/v1", "Job")
    workload = cluster().get(api, kind, obj, namespace)
    pods = cluster().list("v1", "Pod", namespace, label_selector=f"{LABEL_JOB}={obj}")
    state, error, explaining = job_status(workload, pods, int(spec.get("instance_count") or 1))
    previous = dict(body.get("status") or {})
    if previous.get("status") in TERMINAL:  # ended (canceled by the CLI): only its run is left to close
        closing = _run_update(body, str(previous["status"]))
        if closing:
            cluster().patch_status(names.API_VERSION, "AmlJob", name, {"status": closing}, namespace)
        return
    update: dict[str, Any] = {"status": state, "message": None}
    if state in ("Running", "Finalizing", "Completed", "Failed") and not previous.get("start_time"):
        update["start_time"] = _now()
    if state == "Completed":
        update["end_time"] = _now()
    if error is not None:
        message = error[1]
        if explaining is not None:
            try:
                lines = cluster().pod_log(namespace, explaining[0], explaining[1], tail_lines=LOG_LINES)
            except Exception:  # a container that never started has no log
                lines = ""
            message = f"{message}\n{lines.rstrip()}" if lines.strip() else message
        update.update(_failed(*error[:1], message))
        if error[0] not in ("ExitCode",) and workload is not None:  # nothing else would end its pods
            cluster().delete(api, kind, obj, namespace)
    update.update(_run_update(body, state))
    if any(previous.get(k) != v for k, v in update.items() if k not in ("start_time", "end_time")):
        current = cluster().get(names.API_VERSION, "AmlJob", name, namespace) or {}
        if (current.get("status") or {}).get("status") in TERMINAL:  # canceled meanwhile: the CLI's word stands
            return
        cluster().patch_status(names.API_VERSION, "AmlJob", name, {"status": update}, namespace)
