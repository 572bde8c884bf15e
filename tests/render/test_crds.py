"""The CRDs: accepted by the API server's own schema, structural, and faithful to schemas/.

schemas/ is the one source of truth; these tests make sure the generated openAPIV3Schema accepts every
valid az ml file the spec corpus holds, without pruning any field of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mlk.render import crds
from mlk.render.crdcheck import structural_problems, to_json_schema
from mlk.render.crds import NOT_IN_SPEC
from mlk.render.structural import to_structural
from mlk.specs import load_spec
from mlk.specs.schemas import load_schema
from tests.conftest import REPO
from tests.render.helpers import assert_valid

VALID = REPO / "tests" / "specs" / "valid"
CRDS = {c["spec"]["names"]["kind"]: c for c in crds()}


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _files(folder: str) -> list[Path]:
    return sorted((VALID / folder).glob("*.yml"))


def test_three_crds_in_mlks_group_with_names_and_columns() -> None:
    assert [c["metadata"]["name"] for c in crds()] == [
        "onlineendpoints.mlk.dev",
        "onlinedeployments.mlk.dev",
        "instancetypes.mlk.dev",
    ]
    endpoint, deployment, instance_type = crds()
    assert endpoint["spec"]["names"]["shortNames"] == ["mlkendpoint", "mlkep"]
    assert deployment["spec"]["names"]["shortNames"] == ["mlkdeployment", "mlkdep"]
    assert instance_type["spec"]["names"]["shortNames"] == ["mlkit"]
    assert instance_type["spec"]["scope"] == "Cluster" and endpoint["spec"]["scope"] == "Namespaced"
    for crd in crds():
        version = crd["spec"]["versions"][0]
        assert crd["spec"]["names"]["categories"] == ["mlk"]
        assert version["subresources"] == {"status": {}}
        assert version["schema"]["openAPIV3Schema"]["properties"]["status"]["x-kubernetes-preserve-unknown-fields"]
    columns = {c["name"]: c["jsonPath"] for c in endpoint["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns == {
        "State": ".status.state",
        "Traffic": ".status.trafficText",
        "URI": ".status.scoringUri",
        "Age": ".metadata.creationTimestamp",
    }
    columns = {c["name"]: c["jsonPath"] for c in deployment["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns == {
        "Endpoint": ".spec.endpoint_name",
        "State": ".status.state",
        "Ready": ".status.readyText",
        "Age": ".metadata.creationTimestamp",
    }


def test_crds_pass_upstream_validation() -> None:
    assert_valid(crds())


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_schemas_are_structural(kind: str) -> None:
    assert structural_problems(_schema(kind)) == []


def test_spec_fields_are_those_of_schemas_minus_non_spec_ones() -> None:
    for kind, file in (
        ("OnlineEndpoint", "kubernetesOnlineEndpoint.schema.json"),
        ("OnlineDeployment", "kubernetesOnlineDeployment.schema.json"),
    ):
        expected = set(load_schema(file)["properties"]) - set(NOT_IN_SPEC)
        if kind == "OnlineDeployment":
            expected.add("runtime")
        assert set(_schema(kind)["properties"]["spec"]["properties"]) == expected
    assert "name" not in _schema("OnlineEndpoint")["properties"]["spec"]["properties"]
    assert _schema("OnlineDeployment")["properties"]["spec"]["required"] == ["endpoint_name"]


def test_defaults_and_constraints_survive_the_conversion() -> None:
    spec = _schema("OnlineDeployment")["properties"]["spec"]["properties"]
    assert spec["request_settings"]["properties"]["request_timeout_ms"]["default"] == 5000
    assert spec["liveness_probe"]["properties"]["failure_threshold"]["default"] == 30
    assert spec["instance_count"] == {"type": "integer", "minimum": 1, "default": 1}
    scale = spec["scale_settings"]["properties"]
    assert set(scale) == {"type", "min_instances", "max_instances", "target_utilization_percentage", "polling_interval"}
    assert "default" not in scale["min_instances"]  # it applied only under `type: target_utilization`
    assert spec["model"]["x-kubernetes-preserve-unknown-fields"] is True and spec["model"]["description"]
    cpu = spec["resources"]["properties"]["limits"]["properties"]["cpu"]
    assert cpu["x-kubernetes-int-or-string"] is True and cpu["pattern"]
    endpoint = _schema("OnlineEndpoint")["properties"]["spec"]["properties"]
    assert endpoint["auth_mode"]["enum"] == ["key", "aml_token", "aad_token"]
    assert endpoint["mirror_traffic"]["maxProperties"] == 1
    assert endpoint["traffic"]["additionalProperties"] == {"type": "integer", "minimum": 0, "maximum": 100}


def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(to_json_schema(_schema(kind)["properties"]["spec"]))


@pytest.mark.parametrize("path", _files("online-endpoint"), ids=lambda p: p.name)
def test_valid_endpoint_files_fit_the_crd_unpruned(path: Path) -> None:
    data = dict(load_spec(path).data)
    data.pop("name")
    assert [e.message for e in _validator("OnlineEndpoint").iter_errors(data)] == []


@pytest.mark.parametrize("path", _files("online-deployment"), ids=lambda p: p.name)
def test_valid_deployment_files_fit_the_crd_unpruned(path: Path) -> None:
    data = dict(load_spec(path).data)
    data.pop("name")
    assert [e.message for e in _validator("OnlineDeployment").iter_errors(data)] == []


@pytest.mark.parametrize("path", [*_files("instance-type"), REPO / "examples" / "instance-type.yml"], ids=str)
def test_valid_instance_type_files_fit_the_crd_unpruned(path: Path) -> None:
    data = load_spec(path).data
    assert [e.message for e in _validator("InstanceType").iter_errors(data["spec"])] == []


def test_the_round_trip_catches_a_field_the_server_would_prune() -> None:
    data = {"endpoint_name": "my-endpoint", "instance_count": 1, "surprise": True}
    assert any("surprise" in e.message for e in _validator("OnlineDeployment").iter_errors(data))
    bad = {"endpoint_name": "my-endpoint", "resources": {"limits": {"cpu": 0.5}}}  # why crs writes "0.5"
    assert list(_validator("OnlineDeployment").iter_errors(bad))


# --- the structural checker itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}}, "'$ref' is not allowed"),
        ({"type": ["string", "null"]}, "type must be one of"),
        ({"type": "object", "properties": {"a": {"description": "no type"}}}, "no type"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}},
            "mutually",
        ),
        ({"type": "object", "additionalProperties": False}, "must be a schema"),
        ({"anyOf": [{"type": "string"}, {"type": "object"}]}, "anyOf is only allowed"),
        ({"type": "string", "const": "x"}, "'const' is not allowed"),
        ({"type": "object", "patternProperties": {"^a": {"type": "string"}}}, "'patternProperties'"),
        ({"type": "object", "if": {}, "then": {}}, "'if' is not allowed"),
        ({"type": "array"}, "needs items"),
        ({"type": "integer", "minimum": 1, "default": 0}, "default 0 is invalid"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "default": {"b": 1}}, "would be pruned"),
        ({"type": "object", "required": ["a"], "properties": {}}, "required field 'a'"),
        ({"x-kubernetes-preserve-unknown-fields": False, "type": "object"}, "may only be true"),
        ({"type": "object", "properties": {"metadata": {"type": "object", "required": ["name"]}}}, "metadata"),
    ],
)
def test_the_checker_rejects_what_the_server_rejects(schema: dict[str, Any], message: str) -> None:
    problems = structural_problems(schema)
    assert any(message in p for p in problems), problems


def test_conversion_handles_every_json_schema_form_used_in_schemas() -> None:
    source = {
        "$defs": {"q": {"type": ["string", "number"], "pattern": "^[0-9]+$"}},
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "q": {"$ref": "#/$defs/q", "description": "wins over the def's"},
            "k": {"const": "X"},
            "e": {"enum": [1, 2]},
            "n": {"type": ["string", "null"]},
            "many": {"type": ["string", "number", "boolean"]},
            "free": {"type": "object"},
            "map": {"type": "object", "propertyNames": {"pattern": "^a"}, "additionalProperties": {"type": "integer"}},
            "alt": {"anyOf": [{"type": "string"}, {"type": "object"}]},
            "list": {"type": "array", "items": {"type": "string"}, "errorMessage": "dropped"},
        },
    }
    out = to_structural(source)
    assert structural_problems(out) == []
    props = out["properties"]
    assert props["q"]["description"] == "wins over the def's" and props["q"]["x-kubernetes-int-or-string"]
    assert props["k"] == {"type": "string", "enum": ["X"]}
    assert props["e"] == {"type": "integer", "enum": [1, 2]}
    assert props["n"] == {"type": "string", "nullable": True}
    assert props["many"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert props["free"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert props["map"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["alt"]["x-kubernetes-preserve-unknown-fields"] is True
    assert props["list"] == {"type": "array", "items": {"type": "string"}}
    assert "additionalProperties" not in out
