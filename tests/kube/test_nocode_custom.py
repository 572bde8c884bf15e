"""Kubernetes beyond score.py, on the real control plane with the node agent's Docker runtime (pods as
containers, images pulled by digest from the workspace's registry):

- a no-code MLflow deployment: mlk's MLflow scoring script shipped as the deployment's code, its image
  built from the model's conda.yaml on the local base image and pushed;
- a custom container built from its own Dockerfile, pushed, run with its own command and scored through
  its own route: the router's /score reaches the pod's route adapter, which calls POST /predict on 8000.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlk.render import names
from mlk.render.pod import GENERATED_CODE
from tests.conftest import Result, run_mlk
from tests.controlplane.fixture import ControlPlane, running
from tests.docker_env import host_ca_certs
from tests.kube.env import INSTALL
from tests.storage.conftest import connection_string, free_port, start_azurite, stop

pytestmark = [pytest.mark.docker, pytest.mark.slow]
LOCAL = Path(__file__).resolve().parents[1] / "local"
MLFLOW, CUSTOM = LOCAL / "mlflow", LOCAL / "custom"
NAMESPACE = "team"


def mlk(*args: str, cwd: Path = CUSTOM) -> Result:
    result = run_mlk(*args, cwd=cwd)
    assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, base_image: str, registry: str, docker_engine: object
) -> Iterator[ControlPlane]:
    root = tmp_path_factory.mktemp("nocode-custom")
    saved = dict(os.environ)
    os.environ.update({"MLK_HOME": str(root / "home"), "MLK_OPERATION_TIMEOUT": "300"})
    os.environ.pop("MLK_WORKSPACE", None)
    certs = [a for c in host_ca_certs() for a in ("--ca-cert", c)]
    try:
        mlk("workspace", "create", "images", "--use")
        mlk("workspace", "update", *certs)
        built = json.loads(
            mlk("extension", "build-image", "--base-image", base_image, "--pull", "never", "-o", "json").stdout
        )
        with running(root / "cluster", runtime="docker") as plane:
            os.environ["KUBECONFIG"] = str(plane.kubeconfig)
            port = free_port()
            azurite = start_azurite(root / "azurite", port, root / "azurite.log", host=plane.gateway)
            try:
                storage = connection_string(port, plane.gateway)
                mlk("workspace", "create", "dk", "--storage-connection-string", storage, "--use")
                mlk("workspace", "update", "--registry", registry, "--system-base-image", base_image, *certs)
                mlk(
                    "extension",
                    "install",
                    "--config",
                    *INSTALL,
                    "installPromOp=False",
                    "--system-image",
                    built["image"],
                )
                mlk(
                    "compute",
                    "attach",
                    "--type",
                    "Kubernetes",
                    "-n",
                    "dk8s",
                    "--namespace",
                    NAMESPACE,
                    "--create-namespace",
                )
                yield plane
            finally:
                stop(azurite)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _workload(plane: ControlPlane, endpoint: str, deployment: str) -> dict[str, object]:
    name = names.deployment_object_name(endpoint, deployment)
    return next(d for d in plane.objects("deployments.apps", NAMESPACE) if d["metadata"]["name"] == name)


def test_mlflow_model_without_code(cluster: ControlPlane, registry: str) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml", "--set", "compute=azureml:dk8s", cwd=MLFLOW)
    created = mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic", "-o", "json", cwd=MLFLOW)
    assert "Succeeded" in created.stderr and "MLflow scoring script" in created.stderr
    image = json.loads(created.stdout)["image"]
    assert image.startswith(f"{registry}/mlk-env/mlflow-sklearn-mlflow@sha256:")
    answer = json.loads(
        mlk(
            "online-endpoint", "invoke", "-o", "tsv", "-n", "mlflow-endpoint", "-r", "sample-request.json", cwd=MLFLOW
        ).stdout
    )
    assert [round(v, 6) for v in answer] == [16.0, 25.0]  # the model is y = 10a + b + 5

    pod = _workload(cluster, "mlflow-endpoint", "mlflow")["spec"]["template"]["spec"]  # type: ignore[index]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["AZUREML_ENTRY_SCRIPT"] == "mlflow_score.py" and env["AML_APP_ROOT"].endswith(f"/{GENERATED_CODE}")
    assert "--code" in pod["initContainers"][0]["args"]  # the script travels as the deployment's code
    mlk("online-endpoint", "delete", "-n", "mlflow-endpoint", "--yes", cwd=MLFLOW)


def test_custom_container_through_its_own_route(cluster: ControlPlane, registry: str) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml", "--set", "compute=azureml:dk8s")
    created = mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic", "-o", "json")
    image = json.loads(created.stdout)["image"]
    assert image.startswith(f"{registry}/mlk-env-context/tiny-server@sha256:")  # its own Dockerfile, pushed
    for _ in range(4):
        answer = json.loads(
            mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "custom-endpoint", "-r", "request.json").stdout
        )
        assert answer["route"] == "/predict" and answer["echo"] == {"question": "who is there?"}
        assert answer["greeting"] == "hello from the model" and answer["user"] == 65532  # the pod's user

    pod = _workload(cluster, "custom-endpoint", "custom")["spec"]["template"]["spec"]  # type: ignore[index]
    server, adapter = pod["containers"]
    assert "command" not in server and server["image"] == image
    assert server["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8000, "scheme": "HTTP"}
    assert adapter["name"] == "route-adapter" and adapter["ports"][0] == {
        "name": "http",
        "containerPort": 5001,
        "protocol": "TCP",
    }
    pods = [p for p in cluster.objects("pods", NAMESPACE) if p["metadata"]["name"].startswith("custom-endpoint")]
    assert len(pods) == 2 and all(s["ready"] for p in pods for s in p["status"]["containerStatuses"])
    mlk("online-endpoint", "delete", "-n", "custom-endpoint", "--yes")
