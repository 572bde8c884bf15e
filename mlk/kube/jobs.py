"""Command jobs on a Kubernetes compute: the AmlJob resource is the truth, the operator's job controller
(mlk.operator.jobs) makes it real; this side starts it, reads it, cancels it and reads its logs.

Starting a job resolves its environment's image as a deployment's is (built and pushed, or used as it is),
puts the workspace's storage and registry Secrets in the namespace (the operator derives the pods' own
from them), then applies the AmlJob. Outputs are read from the workspace's storage, where the job's
uploader records them (mlk.storage.jobkeys.output_key) once the command has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import NotFoundError
from mlk.k8s.cluster import Cluster
from mlk.kube import deployments, endpoints
from mlk.render import names
from mlk.render.jobs import LABEL_JOB, TRAINING, object_name
from mlk.render.objects import clean
from mlk.storage import open_store
from mlk.storage.jobkeys import output_key
from mlk.workspace.home import Workspace
from mlk.workspace.jobrecords import ARTIFACTS

Say = Callable[[str], None]
KIND = "AmlJob"
TERMINAL = ("Completed", "Failed", "Canceled")
FOLLOW_POLL_S = 1.0


def get_cr(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    return cluster.get(names.API_VERSION, KIND, object_name(name), namespace)


def start(ws: Workspace, job: Mapping[str, Any], compute: Mapping[str, Any], say: Say) -> dict[str, Any]:
    """Apply the AmlJob of the prepared job `job` (mlk.workspace.jobrecords.Prepared)."""
    namespace, name = str(compute["namespace"]), str(job["name"])
    with endpoints.connect(ws, compute) as cluster:
        secret = deployments._storage_secret(ws, namespace)
        image = deployments._image(ws, job.get("environment") or {}, say)
        registry_secret = deployments._registry_secret(ws, namespace)
        cluster.apply(secret)
        if registry_secret is not None:
            cluster.apply(registry_secret)
        spec = {
            **job,
            "image": image,
            "storage_secret": secret["metadata"]["name"],
            "registry_secret": registry_secret["metadata"]["name"] if registry_secret else None,
            "environment_variables": {str(k): str(v) for k, v in (job.get("environment_variables") or {}).items()},
        }
        cr = {
            "apiVersion": names.API_VERSION,
            "kind": KIND,
            "metadata": {"name": object_name(name), "namespace": namespace, "labels": names.base_labels("training")},
            "spec": clean(spec),
        }
        try:
            applied = cluster.apply(cr)
        except NotFoundError as exc:
            raise NotFoundError(
                f"compute '{compute['name']}' cannot run jobs: its cluster has no {KIND} resource",
                hint="install the extension's training half: mlk extension update --config enableTraining=True",
            ) from exc
    say(f"applied {KIND} {applied['metadata']['name']} in {compute['name']}/{namespace} (image {image})")
    return applied


def outputs(ws: Workspace, job: Mapping[str, Any]) -> dict[str, str]:
    """Output name → manifest digest, for the outputs the job's uploader has recorded."""
    found: dict[str, str] = {}
    with open_store(ws.storage_config()) as store:
        for output in [*((job.get("outputs") or {}).keys()), ARTIFACTS]:
            key = output_key(str(job["name"]), str(output))
            if store.exists(key):
                found[str(output)] = store.get_bytes(key).decode("ascii").strip()
    return found


def poll(ws: Workspace, compute: Mapping[str, Any], name: str) -> dict[str, Any]:
    with endpoints.connect(ws, compute) as cluster:
        cr = get_cr(cluster, str(compute["namespace"]), name)
    if cr is None:
        raise NotFoundError(f"job '{name}' is not in {compute['name']}/{compute['namespace']}")
    status = cr.get("status") or {}
    out: dict[str, Any] = {"status": status.get("status") or "NotStarted"}
    for key in ("error", "start_time", "end_time", "run_id"):
        if status.get(key):
            out[key] = status[key]
    if status.get("run_id"):  # the operator copies the run's latest metrics from the cluster's tracking server
        out["metrics"], out["params"] = status.get("metrics") or {}, status.get("params") or {}
    if out["status"] in TERMINAL:
        out["outputs"] = outputs(ws, cr["spec"])
    return out


def cancel(ws: Workspace, compute: Mapping[str, Any], name: str) -> None:
    """Canceled first (the operator leaves a terminal status alone), then the workload and its pods go."""
    namespace, obj = str(compute["namespace"]), object_name(name)
    with endpoints.connect(ws, compute) as cluster:
        cr = get_cr(cluster, namespace, name)
        if cr is None:
            raise NotFoundError(f"job '{name}' is not in {compute['name']}/{namespace}")
        if (cr.get("status") or {}).get("status") in TERMINAL:
            return
        ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        cluster.patch_status(
            names.API_VERSION, KIND, obj, {"status": {"status": "Canceled", "end_time": ended}}, namespace
        )
        kinds = [("batch/v1", "Job"), ("v1", "Service")]
        if cr["spec"].get("queue"):
            kinds = [("batch.volcano.sh/v1alpha1", "Job")]
        for api, kind in kinds:
            cluster.delete(api, kind, obj, namespace)


def _pod_logs(cluster: Cluster, namespace: str, name: str) -> dict[str, list[str]]:
    """Each rank's log file name → the training container's lines so far."""
    found: dict[str, list[str]] = {}
    for pod in cluster.list("v1", "Pod", namespace, label_selector=f"{LABEL_JOB}={object_name(name)}"):
        annotations = pod["metadata"].get("annotations") or {}
        rank = annotations.get("batch.kubernetes.io/job-completion-index", annotations.get("volcano.sh/task-index"))
        try:
            text = cluster.pod_log(namespace, pod["metadata"]["name"], TRAINING)
        except Exception:  # not started yet (pending, initializing): nothing to show
            continue
        found[f"user_logs/std_log_process_{rank}.txt"] = text.splitlines()
    return found


def logs(ws: Workspace, compute: Mapping[str, Any], name: str, *, follow: bool, out: Callable[[str], None]) -> None:
    """Every rank's lines, each prefixed by its file's name; with `follow`, until the job ends."""
    namespace = str(compute["namespace"])
    shown: dict[str, int] = {}
    with endpoints.connect(ws, compute) as cluster:
        while True:
            cr = get_cr(cluster, namespace, name)
            if cr is None:
                raise NotFoundError(f"job '{name}' is not in {compute['name']}/{namespace}")
            done = ((cr.get("status") or {}).get("status")) in TERMINAL
            for file, lines in sorted(_pod_logs(cluster, namespace, name).items()):
                for line in lines[shown.get(file, 0) :]:
                    out(f"{file}: {line}")
                shown[file] = max(shown.get(file, 0), len(lines))
            if not follow or done:
                return
            time.sleep(FOLLOW_POLL_S)
