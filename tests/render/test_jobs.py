"""A command job's workload: an indexed Job with its headless Service, or a Volcano Job; upstream-valid."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from mlk.render import default_instance_type
from mlk.render.crdcheck import cr_problems
from mlk.render.crds import job_crd
from mlk.render.extension import extension_manifests
from mlk.render.joblauncher import launcher
from mlk.render.jobs import MOUNT_ROOT, bound_paths, job_objects, literal
from mlk.render.options import ExtensionOptions
from mlk.specs.bindings import bind
from tests.render.helpers import SYSTEM_IMAGE, assert_valid

JOB: dict[str, Any] = {
    "name": "calm_apple_42",
    "workspace": "ws",
    "experiment_name": "exp",
    "display_name": "d",
    "command": "python train.py --data ${{inputs.data}} --lr ${{inputs.lr}} --out ${{outputs.model}}",
    "code": "c" * 64,
    "environment": {"image": "python:3.11-slim"},
    "environment_variables": {"SEED": "7", "COST": "$(HOME)"},
    "inputs": {
        "data": {"type": "uri_file", "mode": "ro_mount", "digest": "d" * 64, "file": "iris.csv"},
        "lr": {"type": "literal", "mode": "", "value": "0.1"},
    },
    "outputs": {"model": {"type": "uri_folder", "mode": "rw_mount"}},
    "instance_count": 2,
    "instance_type": None,
    "shm_size": "2g",
    "distribution": {"type": "pytorch", "process_count_per_instance": 1},
    "timeout": 3600,
    "compute": "k8s",
}


def _objects(job: dict[str, Any] = JOB, queue: str | None = None) -> list[dict[str, Any]]:
    return job_objects(
        job,
        namespace="team-a",
        queue=queue,
        command=bind(job["command"], *bound_paths(job)),
        image="registry.example.com/env:1",
        system_image=SYSTEM_IMAGE,
        storage_secret="calm-apple-42-storage",
        instance_type=default_instance_type(),
        run_id="0123-uid",
    )


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_indexed_job_and_headless_service() -> None:
    objects = _objects()
    assert_valid(objects)
    service, job = objects
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["completionMode"]) == (2, 2, "Indexed")
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] == 3600
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == service["metadata"]["name"] == "calm-apple-42"
    assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"]
    assert [c["name"] for c in pod["initContainers"]] == ["storage-initializer"]
    assert [c["name"] for c in pod["containers"]] == ["training", "uploader"]
    init = pod["initContainers"][0]
    assert init["image"] == SYSTEM_IMAGE and init["command"] == ["python", "-m", "mlk.storage.jobinit"]
    assert init["args"] == [
        *("--job", "calm_apple_42", "--run", "0123-uid", "--instances", "2", "--code", "c" * 64),
        *("--input", f"data={'d' * 64}", "--output", "model"),
    ]
    training = pod["containers"][0]
    assert training["workingDir"] == f"{MOUNT_ROOT}/code"
    bound = training["command"][-1]
    assert bound == literal(
        f"python train.py --data {MOUNT_ROOT}/inputs/data/iris.csv --lr 0.1 --out {MOUNT_ROOT}/outputs/model"
    )
    env = _env(training)
    assert env["NODE_RANK"] == {
        "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
    }
    assert (env["WORLD_SIZE"], env["LOCAL_WORLD_SIZE"], env["MLK_PROCESSES"]) == ("2", "1", "1")
    assert "RANK" not in env  # the launcher sets RANK and LOCAL_RANK for each process it starts
    assert env["MASTER_ADDR"] == "calm-apple-42-0.calm-apple-42" and env["MASTER_PORT"] == "29500"
    assert env["AZUREML_RUN_ID"] == "calm_apple_42"
    assert env["SEED"] == "7" and env["COST"] == "$$(HOME)"  # the user's text, safe from $(VAR) expansion
    assert {"name": "dshm", "mountPath": "/dev/shm"} in training["volumeMounts"]
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    uploader = pod["containers"][1]
    assert uploader["args"] == ["--job", "calm_apple_42", "--output", "model"]
    assert _env(uploader)["MLK_STORAGE_CONFIG"]["secretKeyRef"]["name"] == "calm-apple-42-storage"


def test_volcano_job_is_gang_scheduled_in_its_queue() -> None:
    (job,) = _objects(queue="research")
    assert (job["apiVersion"], job["kind"]) == ("batch.volcano.sh/v1alpha1", "Job")
    spec = job["spec"]
    assert spec["queue"] == "research" and spec["minAvailable"] == 2 and spec["schedulerName"] == "volcano"
    (task,) = spec["tasks"]
    assert task["replicas"] == 2
    pod = task["template"]["spec"]
    assert "subdomain" not in pod and pod["activeDeadlineSeconds"] == 3600
    env = _env(pod["containers"][0])
    assert env["NODE_RANK"]["fieldRef"]["fieldPath"] == "metadata.annotations['volcano.sh/task-index']"
    assert env["MASTER_ADDR"] == "calm-apple-42-worker-0.calm-apple-42"
    # the Volcano Job is a CRD's kind: its pod template is checked as a batch Job's would be
    as_batch = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": job["metadata"],
        "spec": {"template": task["template"]},
    }
    assert_valid([as_batch])


def test_several_processes_per_instance_are_launched_in_each_pod() -> None:
    job = {**JOB, "distribution": {"type": "pytorch", "process_count_per_instance": 4}}
    training = _objects(job)[1]["spec"]["template"]["spec"]["containers"][0]
    env = _env(training)
    assert (env["WORLD_SIZE"], env["LOCAL_WORLD_SIZE"], env["MLK_PROCESSES"]) == ("8", "4", "4")
    tensorflow = {**JOB, "distribution": {"type": "tensorflow", "worker_count": 2}}
    assert _env(_objects(tensorflow)[1]["spec"]["template"]["spec"]["containers"][0])["MLK_PROCESSES"] == "1"


def test_the_launcher_ranks_each_process_and_keeps_the_first_failure(tmp_path: Path) -> None:
    script = launcher(str(tmp_path))
    command = 'echo "rank $RANK local $LOCAL_RANK"; [ "$LOCAL_RANK" = 2 ] && exit 7; exit 0'
    done = subprocess.run(
        ["/bin/sh", "-c", script, "mlk-job", command],
        env={"PATH": "/usr/bin:/bin", "NODE_RANK": "1", "MLK_PROCESSES": "3"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 7 and (tmp_path / "exit-code").read_text().strip() == "7"
    logs = sorted(p.name for p in (tmp_path / "user_logs").iterdir())
    assert logs == ["std_log_process_3.txt", "std_log_process_4.txt", "std_log_process_5.txt"]
    assert (tmp_path / "user_logs/std_log_process_5.txt").read_text() == "rank 5 local 2\n"


def test_the_amljob_crd_takes_a_prepared_job_and_comes_with_training_only() -> None:
    cr: dict[str, Any] = {
        "apiVersion": "mlk.dev/v1alpha1",
        "kind": "AmlJob",
        "metadata": {"name": "calm-apple-42", "namespace": "team-a"},
        "spec": {
            **{k: v for k, v in JOB.items() if v is not None},
            "image": "python:3.11-slim",
            "storage_secret": "s",
        },
    }
    assert cr_problems(job_crd(), cr) == []
    assert cr_problems(job_crd(), {**cr, "spec": {**cr["spec"], "instance_count": 0}}) != []
    assert_valid([job_crd()])

    def kinds(**options: Any) -> list[str]:
        objects = extension_manifests(ExtensionOptions(allow_insecure=True, **options))
        return [o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"]

    assert "amljobs.mlk.dev" in kinds(enable_training=True)
    assert "amljobs.mlk.dev" not in kinds()
    role = next(
        o
        for o in extension_manifests(ExtensionOptions(allow_insecure=True, enable_training=True))
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "mlk-operator"
    )
    groups = {(r["apiGroups"][0], tuple(r["resources"])) for r in role["rules"]}
    assert ("batch", ("jobs",)) in groups and ("batch.volcano.sh", ("jobs",)) in groups
