"""The embedded default on the Docker runtime: the deployment runs as the cluster runs it — the
storage-initializer container fills a volume, the environment's image serves it — behind the same router."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_mlk
from tests.docker_env import host_ca_certs

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def mlk(*args: str) -> str:
    result = run_mlk(*args, cwd=EXAMPLES)
    assert result.exit_code == 0, f"mlk {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_example_deployment_in_containers(home: Path, base_image: str, docker_engine) -> None:
    certs = [a for c in host_ca_certs() for a in ("--ca-cert", c)]
    mlk("workspace", "update", "--local-runtime", "docker", "--system-base-image", base_image, *certs)
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic", "--set", f"environment.image={base_image}")
    answer = json.loads(mlk("online-endpoint", "invoke", "-n", "my-endpoint", "-r", "sample-request.json", "-o", "tsv"))
    assert len(answer) == 2 and all(isinstance(v, float) for v in answer)  # the example model's predictions

    containers = docker_engine.client.containers.list(filters={"label": "mlk.workspace=default"})
    assert [c.name for c in containers] == ["mlk-default-my-endpoint-blue-g1-r0"]
    env = containers[0].attrs["Config"]["Env"]
    assert "AZUREML_ENTRY_SCRIPT=score.py" in env and any(
        e.startswith("AZUREML_MODEL_DIR=/var/azureml-app/") for e in env
    )
    init_log = mlk("online-deployment", "get-logs", "-n", "blue", "-e", "my-endpoint", "-c", "storage-initializer")
    assert "storage-initializer: model" in init_log and "/var/azureml-app/onlinescoring" in init_log
    deadline = time.monotonic() + 10  # the access log is written in batches, then copied from the container
    while "POST /score 200" not in (
        server_log := mlk("online-deployment", "get-logs", "-n", "blue", "-e", "my-endpoint")
    ):
        assert time.monotonic() < deadline, server_log
        time.sleep(0.3)
    assert "Worker with pid" in server_log

    mlk("online-endpoint", "delete", "-n", "my-endpoint", "--yes")
    assert docker_engine.client.containers.list(all=True, filters={"label": "mlk.workspace=default"}) == []
    assert docker_engine.client.volumes.list(filters={"label": "mlk.workspace=default"}) == []
