"""The az ml flow on the real control plane with the node agent's Docker runtime: mlk's own system image
(built here from the local base) runs the operator, the router and the storage-initializer as containers,
as the numeric non-root user the manifests ask for, with read-only roots; the inference server is that
image too. This is what found that the base image's / was 0700 and that kopf needs a login name."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, run_mlk
from tests.controlplane.fixture import ControlPlane, running
from tests.docker_env import host_ca_certs
from tests.kube.env import APP, INSTALL
from tests.storage.conftest import connection_string, free_port, start_azurite, stop

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def mlk(*args: str) -> Result:
    result = run_mlk(*args, cwd=APP)
    assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stderr}"
    return result


@pytest.fixture
def docker_cluster(tmp_path: Path, base_image: str, docker_engine: object) -> Iterator[tuple[ControlPlane, str]]:
    saved = dict(os.environ)
    os.environ.update({"MLK_HOME": str(tmp_path / "home")})
    os.environ.pop("MLK_WORKSPACE", None)
    try:
        mlk("workspace", "create", "images", "--use")
        mlk("workspace", "update", *[a for c in host_ca_certs() for a in ("--ca-cert", c)])
        built = json.loads(
            mlk("extension", "build-image", "--base-image", base_image, "--pull", "never", "-o", "json").stdout
        )
        with running(tmp_path / "cluster", runtime="docker") as cluster:
            os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
            port = free_port()
            azurite = start_azurite(tmp_path / "azurite", port, tmp_path / "azurite.log", host=cluster.gateway)
            try:
                storage = connection_string(port, cluster.gateway)
                mlk("workspace", "create", "dk", "--storage-connection-string", storage, "--use")
                yield cluster, str(built["image"])
            finally:
                stop(azurite)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_flow_with_pods_as_containers(docker_cluster: tuple[ControlPlane, str]) -> None:
    cluster, image = docker_cluster
    mlk("extension", "install", "--config", *INSTALL, "installPromOp=False", "--system-image", image)
    mlk("compute", "attach", "--type", "Kubernetes", "-n", "dk8s", "--namespace", "team", "--create-namespace")
    mlk("online-endpoint", "create", "-f", "endpoint.yml", "--set", "compute=azureml:dk8s")
    created = mlk(
        "online-deployment", "create", "-f", "blue.yml", "--all-traffic", "--set", f"environment.image={image}"
    )
    assert "Succeeded" in created.stderr
    answer = json.loads(
        mlk("online-endpoint", "invoke", "-n", "test-endpoint", "-r", "request.json", "-o", "tsv").stdout
    )
    assert answer["deployment"] == "blue" and answer["model"] == ["model"]
    pods = {p["metadata"]["name"]: p for p in cluster.objects("pods")}
    operator = next(p for n, p in pods.items() if n.startswith("mlk-operator"))
    assert operator["status"]["containerStatuses"][0]["ready"] is True
    assert operator["spec"]["securityContext"]["runAsUser"] == 65532  # and it ran as that user: a container
    mlk("online-endpoint", "delete", "-n", "test-endpoint", "--yes")
