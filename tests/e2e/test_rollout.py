"""Safe rollout on a real cluster: extension install, attach, blue, invoke, green, 90/10, 0/100, delete.

Opt-in (--kubeconfig); run by .github/workflows/kind.yml on kind. The router Service is ClusterIP, so
`invoke` goes through a port-forward, the way a user without a load balancer reaches it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.e2e.conftest import Cluster

ENDPOINT = "e2e-endpoint"
REQUEST = "../../local/app/request.json"  # the same score.py, model and request as tests/local


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def _invoke(cluster: Cluster, *extra: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = cluster.mlk(
            "online-endpoint",
            "invoke",
            "-n",
            ENDPOINT,
            "-r",
            "../../local/app/request.json",
            *extra,
            "-o",
            "json",
            ok=False,
        )
        if result.exit_code == 0:
            return _json(result)
        if time.monotonic() > deadline:
            raise AssertionError(result.stderr)
        time.sleep(2)


def test_safe_rollout(cluster: Cluster) -> None:
    context = ["--kube-context", cluster.context] if cluster.context else []
    cluster.mlk("workspace", "create", "e2e", "--storage-connection-string", cluster.storage)
    cluster.mlk(
        "extension",
        "install",
        "--config",
        "enableInference=True",
        "inferenceRouterServiceType=ClusterIP",
        "allowInsecureConnections=True",
        "inferenceRouterHA=False",
        "--system-image",
        cluster.image,
        *context,
    )
    shown = _json(cluster.mlk("extension", "show", "-o", "json", *context))
    assert shown, shown
    cluster.mlk(
        "compute",
        "attach",
        "--type",
        "Kubernetes",
        "-n",
        "e2e-k8s",
        "--namespace",
        "e2e",
        "--create-namespace",
        *context,
    )
    image = f"environment.image={cluster.image}"
    assert (
        _json(cluster.mlk("online-endpoint", "create", "-f", "endpoint.yml", "-o", "json"))["provisioning_state"]
        == "Succeeded"
    )
    blue = cluster.mlk("online-deployment", "create", "-f", "blue.yml", "--set", image, "--all-traffic", "-o", "json")
    assert _json(blue)["provisioning_state"] == "Succeeded", blue.stderr
    assert _invoke(cluster)["deployment"] == "blue"

    cluster.mlk("online-deployment", "create", "-f", "green.yml", "--set", image)
    cluster.mlk("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=90 green=10")
    assert _invoke(cluster, "-d", "green")["deployment"] == "green"
    cluster.mlk("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=0 green=100")
    assert _invoke(cluster)["deployment"] == "green"
    logs = cluster.mlk("online-deployment", "get-logs", "-n", "green", "-e", ENDPOINT, "-c", "storage-initializer")
    assert "model" in logs.stdout
    cluster.mlk("online-deployment", "delete", "-n", "blue", "-e", ENDPOINT, "--yes")
    cluster.mlk("online-endpoint", "delete", "-n", ENDPOINT, "--yes")
    cluster.mlk("extension", "delete", "--yes", *context)
