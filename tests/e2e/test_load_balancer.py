"""The router as a LoadBalancer Service: its address becomes the endpoints' scoring URI, and answers.

Something must give the Service an address reachable from this machine: cloud-provider-kind on kind
(.github/workflows/kind.yml runs it), a cloud's load balancer elsewhere. The endpoint is created while the
router is still ClusterIP, then `mlk extension update` makes it a LoadBalancer: the operator must rewrite
the endpoint's scoringUri when status.loadBalancer.ingress arrives (an address that comes late, as a
cloud's does). Opt-in (--kubeconfig).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from mlk.render import names
from tests.e2e.conftest import APP, E2E_WARNINGS, NAMESPACE, REQUEST, Cluster

pytestmark = E2E_WARNINGS
ENDPOINT = "e2e-lb"
LB_TIMEOUT = 180.0  # cloud-provider-kind starts a proxy container per Service (its image pulled the first time)


def _address(cluster: Cluster) -> str | None:
    """The router Service's LoadBalancer address, once it has one."""
    service = cluster.get("v1", "Service", names.ROUTER, NAMESPACE) or {}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}]
    address = ingress[0].get("ip") or ingress[0].get("hostname")
    return str(address) if address else None


def _score(url: str, key: str, timeout: float = 30) -> Any:
    """POST the request straight to the scoring URI: no port-forward, the address itself must answer."""
    request = urllib.request.Request(
        url,
        data=(APP / REQUEST).read_bytes(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def _scoring_uri(cluster: Cluster) -> str:
    return str(cluster.mlk_json("online-endpoint", "show", "-n", ENDPOINT)["scoring_uri"])


def test_scoring_uri_follows_the_load_balancer_address(cluster: Cluster) -> None:
    cluster.install("ClusterIP")
    cluster.attach()
    created = cluster.mlk_json("online-endpoint", "create", "-f", "endpoint.yml", "-n", ENDPOINT)
    assert created["provisioning_state"] == "Succeeded", created
    before = _scoring_uri(cluster)

    cluster.mlk(
        "extension",
        "update",
        "--config",
        "inferenceRouterServiceType=LoadBalancer",
        "--system-image",
        cluster.image,
        "--yes",
        *cluster.context_args,
    )
    service = cluster.get("v1", "Service", names.ROUTER, NAMESPACE) or {}
    assert (service.get("spec") or {}).get("type") == "LoadBalancer", service.get("spec")
    address = cluster.wait(
        lambda: _address(cluster),
        LB_TIMEOUT,
        f"an address in Service {NAMESPACE}/{names.ROUTER}'s status.loadBalancer "
        "(is cloud-provider-kind running? see .github/workflows/kind.yml)",
    )
    assert urlsplit(before).hostname != address, before  # so what follows is the operator's rewrite

    def follows() -> str | None:
        uri = _scoring_uri(cluster)
        return uri if urlsplit(uri).hostname == address else None

    uri = cluster.wait(follows, 60, f"the scoring URI (was {before}) to use the LoadBalancer address {address}")
    assert uri == f"http://{address}/api/v1/endpoint/{ENDPOINT}/score", uri
    cluster.wait_extension_ready()  # the update rolled the router

    cluster.deploy_blue(ENDPOINT)
    key = cluster.mlk_json("online-endpoint", "get-credentials", "-n", ENDPOINT)["primaryKey"]

    errors: list[OSError] = []

    def answered() -> Any:
        try:
            return _score(uri, key)
        except OSError as exc:  # refused, reset or 502 while the proxy in front of the router catches up
            errors.append(exc)
            return None

    assert (
        cluster.wait(answered, 120, lambda: f"an answer from {uri} (last error: {errors[-1:]})")["deployment"] == "blue"
    )
    assert cluster.invoke(ENDPOINT)["deployment"] == "blue"  # mlk's own invoke: the same address, directly

    cluster.mlk("online-endpoint", "delete", "-n", ENDPOINT, "--yes")
    cluster.delete_extension()
