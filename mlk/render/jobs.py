"""A command job's workload on a cluster: an indexed Job and its headless Service, or a Volcano Job.

    /mnt/azureml                        emptyDir shared by the pod's three containers (MOUNT_ROOT)
    ├── code/                           the code snapshot: the training container's working directory
    ├── inputs/<name>/                  each data input (a uri_file input is inputs/<name>/<its file>)
    ├── outputs/<name>/                 each declared output, uploaded when the command ends
    └── .mlk/                           rendezvous.env, exit-code, user_logs/std_log_process_<rank>.txt

- init container `storage-initializer` (mlk's image): `python -m mlk.storage.jobinit` materialises code
  and inputs, makes the output folders, and finds rank 0's address (see MASTER below).
- container `training` (the environment's image): the launcher (mlk.render.joblauncher) runs the bound
  command once per process, each one's output copied to its rank's log file, and writes the exit code.
- container `uploader` (mlk's image): `python -m mlk.storage.jobupload` waits for that file; on rank 0
  it uploads every output and the artifacts, then exits with the command's code (so the pod fails as the
  command did). The storage Secret is the job's read-write SAS (the operator makes it).

MASTER: MASTER_ADDR is rank 0's stable DNS name (`<job>-0.<service>` through the headless Service's
subdomain), and the storage-initializer replaces it by rank 0's pod IP, exchanged through the workspace's
storage, which every pod reaches: a cluster without DNS for pods (the test node) rendezvouses as well.
Each pod runs process_count_per_instance processes (pytorch, mpi) through mlk.render.joblauncher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlk.render import names, pod, tracking
from mlk.render.joblauncher import PROCESSES_ENV, launcher
from mlk.render.objects import POD_SECURITY, TMP_VOLUME, azure_tolerations, container_security, meta, tmp_mount
from mlk.specs.quantity import docker_size

MOUNT_ROOT = "/mnt/azureml"
STATE_DIR, CODE_DIR = f"{MOUNT_ROOT}/.mlk", f"{MOUNT_ROOT}/code"
VOLUME, SHM_VOLUME = "azureml", "dshm"
MASTER_PORT = 29500  # torch.distributed's default
LABEL_JOB = "mlk.dev/job"
BATCH_INDEX = "batch.kubernetes.io/job-completion-index"
VOLCANO_INDEX, VOLCANO_TASK = "volcano.sh/task-index", "worker"
STORAGE_ENV = "MLK_STORAGE_CONFIG"
UPLOAD_MODULE = "mlk.storage.jobupload"
TRAINING, INITIALIZER, UPLOADER = "training", "storage-initializer", "uploader"


def object_name(job: str) -> str:
    """The name of a job's Job (or Volcano Job), Service and Secret: short enough that `<it>-<index>`, the
    pods' host names, stay DNS labels."""
    return names.k8s_name(job, max_len=50)


def job_labels(job: str) -> dict[str, str]:
    return {**names.base_labels("training"), LABEL_JOB: object_name(job)}


def literal(text: str) -> str:
    """`text` safe from Kubernetes' $(VAR) expansion in command, args and env values."""
    return text.replace("$", "$$")


def input_path(name: str, spec: Mapping[str, Any]) -> str:
    """Where input `name` is in the pod (a literal input: its text)."""
    if spec.get("type") == "literal":
        return str(spec.get("value", ""))
    base = f"{MOUNT_ROOT}/inputs/{name}"
    return f"{base}/{spec['file']}" if spec.get("file") else base


def bound_paths(job: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(inputs, outputs) as the command's bindings see them."""
    inputs = {n: input_path(n, s) for n, s in (job.get("inputs") or {}).items()}
    outputs = {n: f"{MOUNT_ROOT}/outputs/{n}" for n in job.get("outputs") or {}}
    return inputs, outputs


def _processes(job: Mapping[str, Any]) -> int:
    """Processes per pod: pytorch's and mpi's process_count_per_instance (the launcher starts them)."""
    distribution = job.get("distribution") or {}
    if str(distribution.get("type", "")).lower() not in ("pytorch", "mpi"):
        return 1
    return max(1, int(distribution.get("process_count_per_instance") or 1))


def training_env(job: Mapping[str, Any], master: str, index_key: str) -> list[dict[str, Any]]:
    """Azure's and torch.distributed's variables, then the user's (which may override them)."""
    rank = {"fieldRef": {"fieldPath": f"metadata.annotations['{index_key}']"}}
    processes = _processes(job)
    world = int(job.get("instance_count") or 1) * processes
    system: dict[str, str | None] = {
        "AZUREML_RUN_ID": str(job["name"]),
        "AZUREML_ARM_WORKSPACE_NAME": str(job.get("workspace") or "") or None,
        "AZUREML_EXPERIMENT_NAME": str(job.get("experiment_name") or "") or None,
        "MASTER_ADDR": master,
        "MASTER_PORT": str(MASTER_PORT),
        "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": str(processes),
        PROCESSES_ENV: str(processes),  # the launcher sets each process's RANK and LOCAL_RANK
        "MLFLOW_TRACKING_URI": job.get("tracking_uri"),
        "MLFLOW_RUN_ID": job.get("run_id"),
        "MLFLOW_EXPERIMENT_NAME": str(job.get("experiment_name") or "") or None,
        "PYTHONUNBUFFERED": "1",
    }
    user = {str(k): "" if v is None else literal(str(v)) for k, v in (job.get("environment_variables") or {}).items()}
    out: list[dict[str, Any]] = [{"name": "NODE_RANK", "valueFrom": rank}]
    out += [{"name": k, "value": v} for k, v in system.items() if v is not None and k not in user]
    return out + [{"name": k, "value": v} for k, v in sorted(user.items())]


def _system_env(storage_secret: str, index_key: str) -> list[dict[str, Any]]:
    secret = {"secretKeyRef": {"name": storage_secret, "key": pod.STORAGE_SECRET_KEY}}
    return [
        {"name": STORAGE_ENV, "valueFrom": secret},
        {"name": "NODE_RANK", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{index_key}']"}}},
        {"name": "MLK_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]


def _system_container(name: str, image: str, module: str, args: list[str], env: list[Any]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["python", "-m", module],
        "args": [literal(a) for a in args],
        "env": env,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": container_security(read_only_root=True),
        "volumeMounts": [{"name": VOLUME, "mountPath": MOUNT_ROOT}, tmp_mount()],
    }


def pod_spec(
    job: Mapping[str, Any],
    *,
    command: str,
    image: str,
    system_image: str,
    storage_secret: str,
    instance_type: Mapping[str, Any],
    run_id: str,
    volcano: bool,
    image_pull_secret: str | None = None,
    tracking_secret: str | None = None,
) -> dict[str, Any]:
    """The pod every instance runs; its rank comes from the pod's index annotation. `command`: the job's
    command with its bindings replaced by `bound_paths` (mlk.specs.bindings.bind). `tracking_secret`: the
    job's MLflow credentials (the training container logs, the uploader fetches what was logged)."""
    name, obj = str(job["name"]), object_name(str(job["name"]))
    index_key = VOLCANO_INDEX if volcano else BATCH_INDEX
    master = f"{obj}-{VOLCANO_TASK}-0.{obj}" if volcano else f"{obj}-0.{obj}"
    it_spec = instance_type.get("spec", instance_type) if "kind" in instance_type else instance_type
    res = pod.resources(it_spec, {})
    tolerations = azure_tolerations()
    if pod.wants_gpu(res):
        tolerations.insert(0, {"key": pod.GPU, "operator": "Exists", "effect": "NoSchedule"})
    outputs = bound_paths(job)[1]
    init_args = ["--job", name, "--run", run_id, "--instances", str(int(job.get("instance_count") or 1))]
    init_args += ["--code", str(job["code"])] if job.get("code") else []
    data = [(n, i["digest"]) for n, i in sorted((job.get("inputs") or {}).items()) if i.get("digest")]
    init_args += [a for n, digest in data for a in ("--input", f"{n}={digest}")]
    init_args += [a for o in sorted(outputs) for a in ("--output", o)]
    env = _system_env(storage_secret, index_key)
    mounts = [{"name": VOLUME, "mountPath": MOUNT_ROOT}, tmp_mount()]
    volumes: list[dict[str, Any]] = [{"name": VOLUME, "emptyDir": {}}, {"name": TMP_VOLUME, "emptyDir": {}}]
    if job.get("shm_size"):  # Azure writes Docker's sizes (2g), Kubernetes wants 2Gi
        volumes.append(
            {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": docker_size(job["shm_size"])}}
        )
        mounts.append({"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    training = {
        "name": TRAINING,
        "image": image,
        "command": ["/bin/sh", "-c", literal(launcher(STATE_DIR)), "mlk-job", literal(command)],
        "workingDir": CODE_DIR,
        "env": training_env(job, master, index_key) + tracking.credentials_env(tracking_secret),
        "resources": res,
        "securityContext": container_security(read_only_root=False),  # the command may write in its image
        "volumeMounts": mounts,
    }
    upload_args = ["--job", name, *[a for o in sorted(outputs) for a in ("--output", o)]]
    upload_env = [*env, *tracking.run_env(job), *tracking.credentials_env(tracking_secret)]
    timeout = job.get("timeout")
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "subdomain": None if volcano else obj,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": POD_SECURITY,
        "activeDeadlineSeconds": int(timeout) if volcano and timeout else None,
        "initContainers": [_system_container(INITIALIZER, system_image, "mlk.storage.jobinit", init_args, env)],
        "containers": [training, _system_container(UPLOADER, system_image, UPLOAD_MODULE, upload_args, upload_env)],
        "volumes": volumes,
        "nodeSelector": dict(sorted((it_spec.get("nodeSelector") or {}).items())) or None,
        "tolerations": tolerations,
        "imagePullSecrets": [{"name": image_pull_secret}] if image_pull_secret else None,
    }
    return {k: v for k, v in spec.items() if v is not None}


def job_objects(
    job: Mapping[str, Any], *, namespace: str, queue: str | None = None, **pod: Any
) -> list[dict[str, Any]]:
    """The workload of a prepared job (mlk.workspace.jobrecords.Prepared): with `queue` (Volcano's) a
    gang-scheduled Volcano Job, else a headless Service and an indexed Job. `pod`: pod_spec's keywords
    (`run_id`, the AmlJob's uid, tells this run's rendezvous apart from an earlier one of the same name)."""
    name = str(job["name"])
    obj, labels = object_name(name), job_labels(name)
    count = int(job.get("instance_count") or 1)
    if count < 1:
        raise ValueError(f"instance_count must be at least 1, not {count}")
    template = {
        "metadata": {"labels": labels},
        "spec": pod_spec(job, volcano=queue is not None, **pod),
    }
    if queue is not None:
        return [
            {
                "apiVersion": "batch.volcano.sh/v1alpha1",
                "kind": "Job",
                "metadata": meta(obj, namespace, labels=labels),
                "spec": {
                    "schedulerName": "volcano",
                    "queue": queue,
                    "minAvailable": count,
                    "maxRetry": 0,
                    # svc: the headless Service and host names; a failed pod ends the whole job, as Azure's
                    "plugins": {"svc": [], "env": []},
                    "policies": [{"event": "PodFailed", "action": "AbortJob"}],
                    "tasks": [{"name": VOLCANO_TASK, "replicas": count, "template": template}],
                },
            }
        ]
    spec = {"completions": count, "parallelism": count, "completionMode": "Indexed", "backoffLimit": 0}
    if job.get("timeout"):
        spec["activeDeadlineSeconds"] = int(job["timeout"])
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(obj, namespace, labels=labels),
        "spec": {
            "clusterIP": "None",
            "selector": {LABEL_JOB: obj},
            # rank 0's name resolves before it is ready (a training pod has no readiness to speak of)
            "publishNotReadyAddresses": True,
            "ports": [{"name": "rendezvous", "port": MASTER_PORT, "protocol": "TCP"}],
        },
    }
    return [
        service,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta(obj, namespace, labels=labels),
            "spec": {**spec, "template": template},
        },
    ]
