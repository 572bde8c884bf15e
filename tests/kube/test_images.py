"""A deployment whose environment has a conda file, on a cluster: its image is built (or found), pushed to
the workspace's registry, and the OnlineDeployment names it by digest, with a pull Secret the operator makes
from the workspace's registry credentials."""

from __future__ import annotations

import base64
import json

import pytest

from mlk.operator.registry import pod_secret_name as pull_secret_name
from mlk.render import names
from tests.conftest import EXAMPLES, run_mlk
from tests.docker_env import host_ca_certs
from tests.kube.env import COMPUTE, NAMESPACE, KubeEnv

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_conda_environment_is_built_pushed_and_pulled_by_digest(
    kube: KubeEnv,
    base_image: str,
    registry: str,
    docker_engine,
) -> None:
    certs = [a for c in host_ca_certs() for a in ("--ca-cert", c)]
    settings = run_mlk(
        "workspace",
        "update",
        "--registry",
        registry,
        "--registry-username",
        "robot",
        "--registry-password",
        "s3cret",
        *certs,
    )
    assert settings.exit_code == 0, settings.stderr
    created = run_mlk(
        "online-endpoint", "create", "-f", "endpoint.yml", "--set", f"compute=azureml:{COMPUTE}", cwd=EXAMPLES
    )
    assert created.exit_code == 0, created.stderr
    deployed = run_mlk(
        "online-deployment",
        "create",
        "-f",
        "blue.yml",
        "--all-traffic",
        "--set",
        f"environment.image={base_image}",
        "-o",
        "json",
        cwd=EXAMPLES,
    )
    assert deployed.exit_code == 0, deployed.stderr
    image = json.loads(deployed.stdout)["image"]
    assert image.startswith(f"{registry}/mlk-env/") and "@sha256:" in image
    assert docker_engine.pull(image)  # what the node's kubelet does

    workspace_secret = names.k8s_name("mlk-registry", "kube-ws")  # the CLI's: credentials for the operator
    secrets = {s["metadata"]["name"]: s for s in kube.objects("secrets", NAMESPACE)}
    assert secrets[workspace_secret]["type"] == "Opaque"
    object_name = names.deployment_object_name("my-endpoint", "blue")
    pull_secret = pull_secret_name(object_name)  # the operator's, owned by the deployment
    secret = secrets[pull_secret]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["ownerReferences"][0]["kind"] == "OnlineDeployment"
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths[registry]["username"] == "robot"
    workload = next(d for d in kube.objects("deployments.apps", NAMESPACE) if d["metadata"]["name"] == object_name)
    pod = workload["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": pull_secret}]
    assert pod["containers"][0]["image"] == image

    answer = run_mlk(
        "online-endpoint", "invoke", "-n", "my-endpoint", "-r", "sample-request.json", "-o", "tsv", cwd=EXAMPLES
    )
    assert answer.exit_code == 0 or "503" in answer.stderr, answer.stderr
    run_mlk("online-endpoint", "delete", "-n", "my-endpoint", "--yes")
