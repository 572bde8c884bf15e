"""Command jobs on the real control plane: a 2-instance job rendezvouses over TCP, writes its output,
completes, and the output's digest is where the workspace reads it (mlk.storage.jobkeys)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlk.compute.base import JobRunner
from mlk.kube.compute import KubeCompute
from mlk.storage.cas import hash_tree, load_manifest, upload_tree
from mlk.storage.jobkeys import output_key
from mlk.workspace import computes
from mlk.workspace.home import open_workspace
from tests.conftest import Result, run_mlk
from tests.kube.env import COMPUTE, NAMESPACE, KubeEnv

pytestmark = pytest.mark.slow
APP = Path(__file__).parent / "jobapp"


@pytest.fixture(scope="module")
def training(kube: KubeEnv) -> Iterator[KubeCompute]:
    """The shared cluster's extension has enableTraining (no Volcano: an indexed Job; tests/kube/env.py)."""
    ws = open_workspace()
    yield KubeCompute(ws, computes.get(ws, COMPUTE))


def _prepared(name: str, code: str) -> dict[str, Any]:
    return {
        "name": name,
        "workspace": "kube-ws",
        "experiment_name": "exp",
        "display_name": name,
        "command": "python train.py ${{outputs.model}}",
        "code": code,
        "environment": {"image": "python:3.11-slim"},
        "environment_variables": {},
        "inputs": {},
        "outputs": {"model": {"type": "uri_folder", "mode": "rw_mount"}},
        "instance_count": 2,
        "instance_type": None,
        "shm_size": None,
        "distribution": {"type": "pytorch", "process_count_per_instance": 1},
        "timeout": 300,
        "compute": COMPUTE,
    }


def test_two_instances_rendezvous_and_upload_their_output(kube: KubeEnv, training: KubeCompute) -> None:
    runner: JobRunner = training  # the structural check: a cluster is a JobRunner
    ws = training.ws
    manifest = hash_tree(APP)
    with ws.store() as store:
        upload_tree(store, APP, manifest)
    said: list[str] = []
    runner.start_job(_prepared("sockets_job_1", manifest.digest), say=said.append)
    assert any("AmlJob" in line for line in said)

    seen: list[str] = []

    def finished() -> Any:
        polled = runner.poll_job("sockets_job_1")
        if not seen or seen[-1] != polled["status"]:
            seen.append(polled["status"])
        return polled if polled["status"] in ("Completed", "Failed", "Canceled") else None

    polled = kube.wait_for("the job to end", finished, timeout=120)
    lines: list[str] = []
    runner.job_logs("sockets_job_1", follow=False, out=lines.append)
    assert polled["status"] == "Completed", f"{polled}\n{seen}\n" + "\n".join(lines)
    assert "user_logs/std_log_process_0.txt: rank 0 heard 1" in lines
    assert "user_logs/std_log_process_1.txt: rank 1 heard 0" in lines
    assert polled.get("start_time") and polled.get("end_time")
    with ws.store() as store:
        digest = store.get_bytes(output_key("sockets_job_1", "model")).decode()
        assert polled["outputs"]["model"] == digest
        model = load_manifest(store, digest)
        assert [f.path for f in model.files] == ["ranks.txt"]
        artifacts = load_manifest(store, polled["outputs"]["artifacts"])
        paths = {f.path for f in artifacts.files}
        assert {"outputs/note.txt", "user_logs/std_log_process_0.txt"} <= paths
    assert "Completed" in seen
    jobs = kube.objects("jobs.batch", NAMESPACE)
    assert any(j["metadata"]["name"] == "sockets-job-1" for j in jobs)


TRAIN = Path(__file__).parent / "trainapp"


def mlk(*args: str) -> Result:
    result = run_mlk(*args, cwd=TRAIN)
    assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def ended(kube: KubeEnv, job: str) -> str:
    def status() -> str | None:
        now = mlk("job", "show", "-n", job, "--query", "status", "-o", "tsv").stdout.strip()
        return now if now in ("Completed", "Failed", "Canceled") else None

    found: str = kube.wait_for(f"job {job} to end", status, timeout=180)
    return found


def test_train_register_deploy_on_the_cluster(kube: KubeEnv, training: KubeCompute, tmp_path: Path) -> None:
    """The whole loop through the CLI, as a user runs it: the job on the cluster, the model registered from
    its output, deployed to the same cluster and scored."""

    mlk("job", "create", "-f", "job.yml", "-n", "mean_job")
    status = ended(kube, "mean_job")
    streamed = mlk("job", "stream", "-n", "mean_job")
    assert status == "Completed", streamed.stdout + streamed.stderr
    assert "trained on 4 rows: mean 4.0" in streamed.stdout
    shown = json.loads(mlk("job", "show", "-n", "mean_job", "-o", "json").stdout)
    assert shown["compute"] == f"azureml:{COMPUTE}"
    # logged to the cluster's MLflow tracking server, copied into the job's status by the operator
    assert shown["metrics"] == {"mean": 4.0} and shown["params"] == {"rows": "4"}, shown
    run = kube.objects("amljobs.mlk.dev", NAMESPACE)
    assert [j["status"].get("run_ended") for j in run if j["metadata"]["name"] == "mean-job"] == [True]
    # what the run logged comes down with the job's artifacts, as Azure's job download gives it
    mlk("job", "download", "-n", "mean_job", "--output-name", "artifacts", "--download-path", str(tmp_path))
    logged = tmp_path / "artifacts" / "summary" / "mean.json"
    assert json.loads(logged.read_text()) == {"mean": 4.0}
    mlk("model", "create", "-n", "trained", "--path", "azureml://jobs/mean_job/outputs/model")
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic")
    answer = json.loads(mlk("online-endpoint", "invoke", "-n", "trained-ep", "-r", "request.json", "-o", "tsv").stdout)
    assert answer == {"mean": 4.0, "distances": [0.0, 2.0]}
    mlk("online-endpoint", "delete", "-n", "trained-ep", "--yes")


def test_two_processes_in_each_of_two_pods_meet(kube: KubeEnv, training: KubeCompute, tmp_path: Path) -> None:
    """process_count_per_instance: the launcher starts two ranked processes in each pod; all four meet."""
    mlk("job", "create", "-f", "ranks.yml", "-n", "ranks_job")
    status = ended(kube, "ranks_job")
    streamed = mlk("job", "stream", "-n", "ranks_job")
    assert status == "Completed", streamed.stdout + streamed.stderr
    assert "rank 3 of 4, node 1, local rank 1" in streamed.stdout
    mlk("job", "download", "-n", "ranks_job", "--output-name", "result", "--download-path", str(tmp_path))
    world = json.loads((tmp_path / "named-outputs/result/world.json").read_text())
    assert world == {"world": 4, "nodes": {"0": "0", "1": "0", "2": "1", "3": "1"}}
