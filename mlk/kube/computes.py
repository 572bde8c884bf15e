"""Attaching a cluster: reachable, the extension installed, the namespace there — checked, not assumed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import ExternalError, NotFoundError
from mlk.k8s.cluster import Cluster, ClusterRef
from mlk.workspace import computes
from mlk.workspace.home import Workspace

CRD = "onlineendpoints.mlk.dev"


POD_SECURITY_LEVEL = "restricted"
"""What a namespace mlk creates enforces: inference pods meet it (non-root, no capabilities, seccomp)."""


def namespace_object(name: str) -> dict[str, Any]:
    labels = {f"pod-security.kubernetes.io/{mode}": POD_SECURITY_LEVEL for mode in ("enforce", "audit", "warn")}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def attach(
    ws: Workspace,
    spec: Mapping[str, Any],
    *,
    kubeconfig: str | None,
    context: str | None,
    create_namespace: bool,
    say: Callable[[str], None],
) -> dict[str, Any]:
    ref = ClusterRef(kubeconfig, context)
    namespace = spec.get("namespace", "default")
    with Cluster(ref) as cluster:
        version = cluster.server_version()
        say(f"cluster reachable ({ref.describe()}), Kubernetes {version}")
        if cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD) is None:
            raise ExternalError(
                f"the mlk extension is not installed in this cluster (no {CRD})",
                hint="install it first: mlk extension install --config enableInference=True "
                "inferenceRouterServiceType=LoadBalancer allowInsecureConnections=True",
            )
        if cluster.get("v1", "Namespace", namespace) is None:
            if not create_namespace:
                raise NotFoundError(
                    f"namespace '{namespace}' does not exist in the cluster",
                    hint="create it (kubectl create namespace ...) or pass --create-namespace",
                )
            cluster.apply(namespace_object(namespace))
            say(f"created namespace {namespace} (Pod Security: {POD_SECURITY_LEVEL}, enforced)")
        server = cluster.api.configuration.host
    record = {
        "name": spec["name"],
        "type": "kubernetes",
        "namespace": namespace,
        "kubeconfig": kubeconfig,
        "context": context,
        "server": server,
        "resource_id": spec.get("resource_id"),
        "description": spec.get("description"),
        "kubernetes_version": version,
    }
    computes.attach(ws, record)
    return record
