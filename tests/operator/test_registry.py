"""Pull Secrets: rendered from the workspace's registry connection, made by the operator against an API
server that rejects malformed ones, owned by their deployment; a missing or broken source says so."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mlk.k8s.cluster import Cluster, ClusterRef
from mlk.operator import registry as operator_registry
from mlk.render import registry
from tests.controlplane.fixture import ControlPlane


def test_registry_server_is_the_host_of_the_url() -> None:
    assert registry.registry_server("localhost:5000/team/images") == "localhost:5000"
    assert registry.registry_server("https://myacr.azurecr.io") == "myacr.azurecr.io"


def test_pull_secret_is_a_docker_config_for_that_server() -> None:
    secret = registry.pull_secret("p", "ns", {"server": "reg:5000", "username": "robot", "password": "s3cret"})
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    auth = json.loads(secret["stringData"][".dockerconfigjson"])["auths"]["reg:5000"]
    assert base64.b64decode(auth["auth"]) == b"robot:s3cret" and auth["username"] == "robot"
    with pytest.raises(ValueError, match="lacks username"):
        registry.pull_secret("p", "ns", {"server": "reg:5000"})


@pytest.fixture
def ns(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace of the real API server (which rejects a malformed dockerconfigjson Secret)."""
    namespace = f"reg-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", namespace)
    yield namespace
    control_plane.kubectl("delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def cluster(control_plane: ControlPlane) -> Iterator[Cluster]:
    api = Cluster(ClusterRef(str(control_plane.kubeconfig), None))
    yield api
    api.close()


def _owner(cluster: Cluster, namespace: str) -> dict[str, Any]:
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ep-blue", "namespace": namespace}}
    return cluster.apply(owner)


@pytest.mark.slow
def test_operator_makes_the_pods_pull_secret_owned_by_the_deployment(cluster: Cluster, ns: str) -> None:
    source = registry.workspace_secret(
        "mlk-registry-ws", ns, {"url": "reg:5000/team", "username": "robot", "password": "s3cret"}, "ws"
    )
    cluster.apply(source)
    owner = _owner(cluster, ns)
    name = operator_registry.ensure(cluster, owner, "mlk-registry-ws")
    made = cluster.get("v1", "Secret", name, ns)
    assert made is not None and made["type"] == "kubernetes.io/dockerconfigjson"
    assert made["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    auths = json.loads(base64.b64decode(made["data"][".dockerconfigjson"]))["auths"]
    assert auths["reg:5000"]["password"] == "s3cret"


@pytest.mark.slow
def test_a_missing_or_broken_registry_secret_is_named(cluster: Cluster, ns: str) -> None:
    owner = _owner(cluster, ns)
    with pytest.raises(operator_registry.MissingRegistry, match=rf"'mlk-registry-ws'.*not in namespace {ns}"):
        operator_registry.ensure(cluster, owner, "mlk-registry-ws")
    broken = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mlk-registry-ws", "namespace": ns}}
    cluster.apply({**broken, "stringData": {registry.REGISTRY_SECRET_KEY: '["not", "an object"]'}})
    with pytest.raises(operator_registry.MissingRegistry, match="cannot be read"):
        operator_registry.ensure(cluster, owner, "mlk-registry-ws")
