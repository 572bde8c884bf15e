"""Custom resources from resolved az ml files: named, labelled, and accepted by their CRD unpruned."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlk.render import crds, default_instance_type, deployment_cr, endpoint_cr, instance_type_cr
from mlk.render.crdcheck import cr_problems
from mlk.specs import load_spec
from tests.conftest import EXAMPLES, REPO
from tests.render.helpers import RUNTIME, assert_valid

VALID = REPO / "tests" / "specs" / "valid"
ENDPOINT_CRD, DEPLOYMENT_CRD, INSTANCE_TYPE_CRD = crds()


@pytest.mark.parametrize("path", sorted((VALID / "online-endpoint").glob("*.yml")), ids=lambda p: p.name)
def test_every_valid_endpoint_file_becomes_a_valid_resource(path: Path) -> None:
    spec = load_spec(path).data
    cr = endpoint_cr(spec, "team-a", compute="k8s-compute")
    assert cr_problems(ENDPOINT_CRD, cr) == []
    assert cr["metadata"]["name"] == spec["name"].lower()
    assert cr["spec"]["compute"] == "k8s-compute" and "name" not in cr["spec"]


@pytest.mark.parametrize("path", sorted((VALID / "online-deployment").glob("*.yml")), ids=lambda p: p.name)
def test_every_valid_deployment_file_becomes_a_valid_resource(path: Path) -> None:
    spec = load_spec(path).data
    cr = deployment_cr(spec, "team-a", runtime=RUNTIME)
    assert cr_problems(DEPLOYMENT_CRD, cr) == []
    assert cr["metadata"]["name"] == f"{spec['endpoint_name']}-{spec['name']}".lower()
    assert cr["spec"]["runtime"] == RUNTIME and "name" not in cr["spec"]


def test_endpoint_resource_shape() -> None:
    cr = endpoint_cr(load_spec(EXAMPLES / "endpoint.yml").data, "default", compute="k8s")
    assert cr == {
        "apiVersion": "mlk.dev/v1alpha1",
        "kind": "OnlineEndpoint",
        "metadata": {
            "name": "my-endpoint",
            "namespace": "default",
            "labels": {
                "app.kubernetes.io/managed-by": "mlk",
                "app.kubernetes.io/part-of": "mlk",
                "app.kubernetes.io/component": "endpoint",
                "mlk.dev/endpoint": "my-endpoint",
                "ml.azure.com/endpoint-name": "my-endpoint",
            },
        },
        "spec": {"auth_mode": "key", "compute": "k8s"},
    }


def test_deployment_resource_labels_and_numeric_quantities() -> None:
    spec = load_spec(EXAMPLES / "blue.yml", set_values=("resources.requests.cpu=0.1", "resources.limits.cpu=1")).data
    assert spec["resources"]["requests"]["cpu"] == 0.1  # a number in the file...
    cr = deployment_cr(spec, "default", runtime=RUNTIME)
    assert cr["spec"]["resources"]["requests"]["cpu"] == "0.1"  # ...a quantity string in the cluster
    assert cr["spec"]["resources"]["limits"]["cpu"] == "1"
    assert cr_problems(DEPLOYMENT_CRD, cr) == []
    labels = cr["metadata"]["labels"]
    assert labels["mlk.dev/deployment"] == labels["ml.azure.com/deployment-name"] == "blue"
    assert labels["mlk.dev/endpoint"] == "my-endpoint"


def test_spec_is_a_copy_not_a_view() -> None:
    spec = load_spec(EXAMPLES / "blue.yml").data
    cr = deployment_cr(spec, "default", runtime=RUNTIME)
    cr["spec"]["request_settings"]["request_timeout_ms"] = 1
    assert spec["request_settings"]["request_timeout_ms"] == 3000


@pytest.mark.parametrize("path", [VALID / "instance-type" / "azure-crd.yml", EXAMPLES / "instance-type.yml"], ids=str)
def test_azure_instance_type_files_become_mlk_instance_types(path: Path) -> None:
    spec = load_spec(path).data
    cr = instance_type_cr(spec)
    assert cr["apiVersion"] == "mlk.dev/v1alpha1" and cr["kind"] == "InstanceType"
    assert cr["metadata"]["name"] == spec["metadata"]["name"] and "namespace" not in cr["metadata"]
    assert cr_problems(INSTANCE_TYPE_CRD, cr) == []


def test_default_instance_type_is_azures() -> None:
    cr = instance_type_cr(default_instance_type())
    assert cr["metadata"]["name"] == "defaultinstancetype"
    assert cr["spec"]["resources"] == {
        "requests": {"cpu": "100m", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert_valid([cr])


def test_cr_problems_reports_what_the_server_would_refuse() -> None:
    cr = deployment_cr(load_spec(EXAMPLES / "blue.yml").data, "default", runtime=RUNTIME)
    cr["spec"]["instance_count"] = 0
    cr["spec"]["unknown"] = 1
    problems = cr_problems(DEPLOYMENT_CRD, cr)
    assert any("instance_count" in p for p in problems) and any("unknown" in p for p in problems)
    del cr["metadata"]["namespace"]
    assert any("namespace" in p for p in cr_problems(DEPLOYMENT_CRD, cr))
    assert cr_problems(ENDPOINT_CRD, cr) == [
        "apiVersion/kind mlk.dev/v1alpha1/OnlineDeployment is not served by onlineendpoints.mlk.dev"
    ]
