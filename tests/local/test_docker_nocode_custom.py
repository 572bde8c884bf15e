"""The Docker runtime beyond score.py: a no-code MLflow deployment (mlk's scoring script as its code, an
image built from the model's conda.yaml on the local base image) and a custom container built from its
own Dockerfile, reached through its own routes (inference_config) and seeing the model at its
model_mount_path, two replicas that both listen on port 8000, each in a network of its own."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from mlk.local.containers import CUSTOM_LABEL
from mlk.render.pod import GENERATED_CODE
from tests.conftest import run_mlk
from tests.docker_env import host_ca_certs

pytestmark = [pytest.mark.docker, pytest.mark.slow]
HERE = Path(__file__).resolve().parent
MLFLOW, CUSTOM = HERE / "mlflow", HERE / "custom"


def mlk(*args: str, cwd: Path) -> str:
    result = run_mlk(*args, cwd=cwd)
    assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stderr}"
    return result.stdout


def docker_runtime(base_image: str) -> None:
    certs = [a for c in host_ca_certs() for a in ("--ca-cert", c)]
    mlk("workspace", "update", "--local-runtime", "docker", "--system-base-image", base_image, *certs, cwd=HERE)


def test_mlflow_model_without_code_runs_in_containers(home: Path, base_image: str, docker_engine) -> None:
    docker_runtime(base_image)
    mlk("online-endpoint", "create", "-f", "endpoint.yml", cwd=MLFLOW)
    created = run_mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic", "-o", "json", cwd=MLFLOW)
    assert created.exit_code == 0, created.stderr
    assert "mlk's MLflow scoring script serves the model" in created.stderr
    answer = json.loads(
        mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "mlflow-endpoint", "-r", "sample-request.json", cwd=MLFLOW)
    )
    assert [round(v, 6) for v in answer] == [16.0, 25.0]  # the model is y = 10a + b + 5

    (container,) = docker_engine.client.containers.list(filters={"label": "mlk.workspace=default"})
    env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
    assert env["AZUREML_ENTRY_SCRIPT"] == "mlflow_score.py"
    assert env["AML_APP_ROOT"] == f"/var/azureml-app/{GENERATED_CODE}"
    image = docker_engine.client.api.inspect_image(container.attrs["Config"]["Image"])
    assert "mlk-env/mlflow-sklearn-mlflow:" in image["RepoTags"][0]  # built from the model's conda.yaml (any registry)
    logs = mlk("online-deployment", "get-logs", "-n", "mlflow", "-e", "mlflow-endpoint", cwd=MLFLOW)
    assert "MLflow model loaded from /var/azureml-app/azureml-models/" in logs
    mlk("online-endpoint", "delete", "-n", "mlflow-endpoint", "--yes", cwd=MLFLOW)


def test_custom_container_is_scored_through_its_own_route(home: Path, base_image: str, docker_engine) -> None:
    assert (CUSTOM / "container" / "Dockerfile").read_text().count(f"FROM {base_image}\n") == 1
    docker_runtime(base_image)
    mlk("online-endpoint", "create", "-f", "endpoint.yml", cwd=CUSTOM)
    mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic", cwd=CUSTOM)
    for _ in range(4):  # both replicas, taken in turn
        answer = json.loads(
            mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "custom-endpoint", "-r", "request.json", cwd=CUSTOM)
        )
        assert answer["route"] == "/predict" and answer["echo"] == {"question": "who is there?"}
        assert answer["greeting"] == "hello from the model"  # at model_mount_path
        assert answer["model_dir"].startswith("/var/azureml-app/azureml-models/")

    containers = docker_engine.client.containers.list(filters={"label": "mlk.workspace=default"})
    servers = sorted((c for c in containers if not c.name.endswith("-sandbox")), key=lambda c: c.name)
    assert [c.name for c in servers] == [
        "mlk-default-custom-endpoint-custom-g1-r0",
        "mlk-default-custom-endpoint-custom-g1-r1",
    ]
    for server in servers:
        sandbox = docker_engine.client.containers.get(f"{server.name}-sandbox")
        assert server.attrs["HostConfig"]["NetworkMode"] == f"container:{sandbox.id}"  # not the host's network
        assert sandbox.attrs["HostConfig"]["NetworkMode"] == "none"
        labels = docker_engine.client.api.inspect_image(server.attrs["Config"]["Image"])["Config"]["Labels"]
        assert json.loads(labels[CUSTOM_LABEL])["inference_config"]["scoring_route"]["path"] == "/predict"
        assert server.attrs["Config"]["Cmd"] == ["python3", "/app/server.py"]  # its own command

    # the replica's port answers its router only: without the agent's token, the adapter refuses
    status = json.loads(
        mlk("online-deployment", "show", "-n", "custom", "-e", "custom-endpoint", "-o", "json", cwd=CUSTOM)
    )
    port = status["replicas"][0]["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 401 ") and b"who is there" not in reply

    mlk("online-endpoint", "delete", "-n", "custom-endpoint", "--yes", cwd=CUSTOM)
    assert docker_engine.client.containers.list(all=True, filters={"label": "mlk.workspace=default"}) == []
