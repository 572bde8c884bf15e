"""`mlk extension delete --yes --force` with an endpoint still running, then `mlk extension install` again.

The forced delete must release the custom resources' finalizers before it deletes the CRDs (or the CRDs
stay Terminating for ever and the reinstall cannot recreate them), and must wait for what it deleted, so
that an install right after it works. Opt-in (--kubeconfig); run by .github/workflows/kind.yml on kind.
"""

from __future__ import annotations

from mlk.render import names
from tests.e2e.conftest import CRDS, E2E_WARNINGS, NAMESPACE, WORKLOAD_NAMESPACE, Cluster

pytestmark = E2E_WARNINGS
ENDPOINT = "e2e-lifecycle"
CRD_API = "apiextensions.k8s.io/v1"


def _create_endpoint(cluster: Cluster) -> None:
    created = cluster.mlk_json("online-endpoint", "create", "-f", "endpoint.yml", "-n", ENDPOINT)
    assert created["provisioning_state"] == "Succeeded", created


def test_forced_delete_then_reinstall(cluster: Cluster) -> None:
    cluster.install("ClusterIP")
    cluster.attach()
    _create_endpoint(cluster)
    cluster.deploy_blue(ENDPOINT)
    assert cluster.invoke(ENDPOINT)["deployment"] == "blue"

    # without --force, refused while an endpoint runs on it, and nothing deleted
    refused = cluster.mlk("extension", "delete", "--yes", *cluster.context_args, ok=False)
    assert refused.exit_code != 0, f"extension delete went ahead with an endpoint still there:\n{refused.stderr}"
    assert all(cluster.get(CRD_API, "CustomResourceDefinition", crd) for crd in CRDS)

    cluster.delete_extension(force=True)
    # nothing of the extension is left, nothing Terminating: the command waits for what it deleted
    for crd in CRDS:
        assert cluster.get(CRD_API, "CustomResourceDefinition", crd) is None, f"{crd} is still there"
    assert cluster.get("v1", "Namespace", NAMESPACE) is None, f"namespace {NAMESPACE} is still there"
    # the endpoint's workload went with its custom resources (owner references; the collector takes a moment)
    selector = f"{names.LABEL_ENDPOINT}={names.canonical(ENDPOINT)}"
    cluster.wait(
        lambda: True if not cluster.list_objects("apps/v1", "Deployment", WORKLOAD_NAMESPACE, selector) else None,
        120,
        f"the Deployments of {ENDPOINT} to be garbage-collected",
    )

    # installed again, it works as the first time: CRDs established, operator and router ready, endpoints served
    cluster.install("ClusterIP")
    for crd in CRDS:
        found = cluster.get(CRD_API, "CustomResourceDefinition", crd)
        assert found is not None and not found["metadata"].get("deletionTimestamp"), found
    cluster.attach()  # checks the CRDs are there, as a user would meet them
    _create_endpoint(cluster)  # the same name: the forced delete left nothing behind that is in its way
    cluster.mlk("online-endpoint", "delete", "-n", ENDPOINT, "--yes")
    cluster.delete_extension()  # no endpoint left: no --force needed
    for crd in CRDS:
        assert cluster.get(CRD_API, "CustomResourceDefinition", crd) is None, f"{crd} is still there"
