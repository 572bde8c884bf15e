"""Pull Secrets: rendered from the workspace's registry connection, made by the operator against an API
server that rejects malformed ones, owned by their deployment; a missing or broken source says so."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlk.k8s.cluster import Cluster, ClusterRef
from mlk.operator import registry as operator_registry
from mlk.render import registry
from tests.fakekube import FakeKube


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
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with FakeKube() as fake:
        yield Cluster(ClusterRef(str(fake.kubeconfig(tmp_path / "kubeconfig")), None))


def _owner(cluster: Cluster) -> dict[str, Any]:
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ep-blue", "namespace": "default"}}
    return cluster.apply(owner)


def test_operator_makes_the_pods_pull_secret_owned_by_the_deployment(cluster: Cluster) -> None:
    source = registry.workspace_secret(
        "mlk-registry-ws", "default", {"url": "reg:5000/team", "username": "robot", "password": "s3cret"}, "ws"
    )
    cluster.apply(source)
    owner = _owner(cluster)
    name = operator_registry.ensure(cluster, owner, "mlk-registry-ws")
    made = cluster.get("v1", "Secret", name, "default")
    assert made is not None and made["type"] == "kubernetes.io/dockerconfigjson"
    assert made["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    auths = json.loads(base64.b64decode(made["data"][".dockerconfigjson"]))["auths"]
    assert auths["reg:5000"]["password"] == "s3cret"


def test_a_missing_or_broken_registry_secret_is_named(cluster: Cluster) -> None:
    owner = _owner(cluster)
    with pytest.raises(operator_registry.MissingRegistry, match=r"'mlk-registry-ws'.*not in namespace default"):
        operator_registry.ensure(cluster, owner, "mlk-registry-ws")
    broken = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mlk-registry-ws", "namespace": "default"}}
    cluster.apply({**broken, "stringData": {registry.REGISTRY_SECRET_KEY: '["not", "an object"]'}})
    with pytest.raises(operator_registry.MissingRegistry, match="cannot be read"):
        operator_registry.ensure(cluster, owner, "mlk-registry-ws")
