"""Safe rollout on a real cluster: extension install, attach, blue, invoke, green, 90/10, an update of green,
0/100, delete.

Opt-in (--kubeconfig); run by .github/workflows/kind.yml on kind. The router Service is ClusterIP here, so
`invoke` goes through a port-forward, the way a user without a load balancer reaches it
(test_load_balancer.py covers the LoadBalancer address).
"""

from __future__ import annotations

from tests.e2e.conftest import E2E_WARNINGS, Cluster

pytestmark = E2E_WARNINGS
ENDPOINT = "e2e-endpoint"  # endpoint.yml's, and blue.yml's and green.yml's endpoint_name


def test_safe_rollout(cluster: Cluster) -> None:
    cluster.install("ClusterIP")
    cluster.attach()
    image = f"environment.image={cluster.image}"
    created = cluster.mlk_json("online-endpoint", "create", "-f", "endpoint.yml")
    assert created["provisioning_state"] == "Succeeded", created
    blue = cluster.mlk_json("online-deployment", "create", "-f", "blue.yml", "--set", image, "--all-traffic")
    assert blue["provisioning_state"] == "Succeeded", blue
    assert cluster.invoke(ENDPOINT)["deployment"] == "blue"

    cluster.mlk("online-deployment", "create", "-f", "green.yml", "--set", image)
    cluster.mlk("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=90 green=10")
    assert cluster.invoke(ENDPOINT, "-d", "green")["deployment"] == "green"

    # an update: a new environment variable rolls green's pods; the answers come from the new ones
    updated = cluster.mlk_json(
        "online-deployment",
        "update",
        "-f",
        "green.yml",
        "--set",
        image,
        "--set",
        "environment_variables.DEPLOYMENT_TAG=green-updated",
    )
    assert updated["provisioning_state"] == "Succeeded", updated
    assert cluster.invoke_until(ENDPOINT, "green-updated", "-d", "green")["model"]
    shown = cluster.mlk_json("online-endpoint", "show", "-n", ENDPOINT)
    assert shown["traffic"] == {"blue": 90, "green": 10}, shown  # an update of a deployment keeps the traffic

    cluster.mlk("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=0 green=100")
    assert cluster.invoke(ENDPOINT)["deployment"] == "green-updated"
    logs = cluster.mlk("online-deployment", "get-logs", "-n", "green", "-e", ENDPOINT, "-c", "storage-initializer")
    assert "model" in logs.stdout
    cluster.mlk("online-deployment", "delete", "-n", "blue", "-e", ENDPOINT, "--yes")
    cluster.mlk("online-endpoint", "delete", "-n", ENDPOINT, "--yes")
    cluster.delete_extension()
