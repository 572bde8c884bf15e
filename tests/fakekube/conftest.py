"""Fixtures: a fresh fake API server per test, a real client configured through its kubeconfig, and a CRD."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.dynamic import DynamicClient

from tests.fakekube import FakeKube


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeKube]:
    """`FakeKube(**param)`: parametrize indirectly with {"simulate_workloads": True} for pods."""
    with FakeKube(**getattr(request, "param", {})) as server:
        yield server


@pytest.fixture
def kubeconfig(fake: FakeKube, tmp_path: Path) -> Path:
    return fake.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[kubernetes.client.ApiClient]:
    """A real client loaded from the fake's kubeconfig (context `fake`), closed after the test."""
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), context="fake", client_configuration=config)
    with kubernetes.client.ApiClient(config) as client:
        yield client


@pytest.fixture
def core(api: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api)


@pytest.fixture
def dyn(api: kubernetes.client.ApiClient, tmp_path: Path) -> DynamicClient:
    """The dynamic client: it sends dicts as they are (the typed API refuses unknown fields client-side)."""
    return DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))


def widget_crd(scope: str = "Namespaced", status: bool = True) -> dict[str, Any]:
    """`widgets.fakekube.test`: spec.size (integer ≥ 1, required), spec.color (enum, default blue), free status."""
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {  # apiVersion, kind, metadata: as code generators write them
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": {
                        "type": "object",
                        "required": ["size"],
                        "properties": {
                            "size": {"type": "integer", "minimum": 1},
                            "color": {"type": "string", "enum": ["blue", "red"], "default": "blue"},
                            "port": {"x-kubernetes-int-or-string": True},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    },
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            }
        },
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.fakekube.test"},
        "spec": {
            "group": "fakekube.test",
            "scope": scope,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [version],
        },
    }


@pytest.fixture
def widgets(api: kubernetes.client.ApiClient) -> kubernetes.client.CustomObjectsApi:
    """The Widget CRD installed; the custom-objects API to use it."""
    kubernetes.client.ApiextensionsV1Api(api).create_custom_resource_definition(widget_crd())  # type: ignore[arg-type]
    return kubernetes.client.CustomObjectsApi(api)
