"""The CustomResourceDefinitions of mlk's three resources, their schemas generated from schemas/.

OnlineEndpoint and OnlineDeployment carry the az ml YAML as their `spec` (resolved: Azure's defaults
filled in), so `kubectl get onlinedeployment blue -o yaml` reads like the file the user wrote. InstanceType
is Azure's own CRD shape under mlk's group. Fields Azure writes itself (ids, states, URIs) and
managed-only fields never reach a resource: the CLI drops them when it loads a file (mlk.specs.load).
"""

from __future__ import annotations

from typing import Any

from mlk.render import names
from mlk.render.structural import PRESERVE, to_structural
from mlk.specs.kinds import MANAGED_ONLY, READ_ONLY
from mlk.specs.schemas import load_schema

# A resource's name is metadata.name; the rest Azure writes itself (read-only) or ignores on Kubernetes.
NOT_IN_SPEC = ("$schema", "name", "kind", *READ_ONLY, *MANAGED_ONLY)
_STATUS = {
    "type": "object",
    "description": "Written by the mlk operator: state, replicas, scoring URI, messages.",
    PRESERVE: True,
}
_RUNTIME = {
    "type": "object",
    "description": (
        "Filled by mlk at deploy time, never by hand: what the cluster runs for this deployment. "
        "image: the environment's image (built and pushed); model and code: {digest, name} of the "
        "content-addressed manifests the storage-initializer fetches; storage: where those manifests "
        "live (a description without credentials; they are in the storage Secret); inference_config: "
        "a registered custom container's routes (an inline environment carries its own)."
    ),
    "properties": {
        "image": {"type": "string", "description": "Image of the inference-server container."},
        "model": {
            "type": "object",
            "description": "The model's manifest: its SHA-256 digest and its file or folder name.",
            "properties": {"digest": {"type": "string"}, "name": {"type": "string"}},
        },
        "code": {
            "type": "object",
            "description": "The scoring code's manifest: its SHA-256 digest and its folder name.",
            "properties": {"digest": {"type": "string"}, "name": {"type": "string"}},
        },
        "storage": {"type": "string", "description": "The storage holding the manifests (no credentials)."},
        "registry_secret": {
            "type": "string",
            "description": (
                "The workspace's registry Secret (key registry.json: server, username, password); the "
                "operator makes the pods' pull Secret (kubernetes.io/dockerconfigjson) from it."
            ),
        },
        "image_pull_secret": {
            "type": "string",
            "description": (
                "An existing Secret (kubernetes.io/dockerconfigjson) the pods pull the image with, when "
                "registry_secret is not given."
            ),
        },
        "storage_secret": {
            "type": "string",
            "description": "The Secret (key storage.json) the storage-initializer reads the storage with.",
        },
    },
    PRESERVE: True,
}
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def spec_schema(schema_file: str) -> dict[str, Any]:
    """The structural schema of an az ml file's resolved form, minus the fields that are not spec."""
    schema = load_schema(schema_file)
    kept = {k: v for k, v in schema["properties"].items() if k not in NOT_IN_SPEC}
    node = {
        "type": "object",
        "description": schema.get("description"),
        "properties": kept,
        "required": [r for r in schema.get("required", []) if r in kept],
    }
    return to_structural(schema, node)


def instance_type_spec_schema() -> dict[str, Any]:
    schema = load_schema("instanceType.schema.json")
    return to_structural(schema, schema["properties"]["spec"])


def _crd(
    kind: str,
    plural: str,
    short: list[str],
    scope: str,
    spec: dict[str, Any],
    columns: list[dict[str, str]],
    description: str,
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{names.GROUP}", "labels": names.base_labels("crd")},
        "spec": {
            "group": names.GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short,
                "categories": ["mlk"],
            },
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": description,
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": _STATUS,
                            },
                            "required": ["spec"],
                        }
                    },
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                }
            ],
        },
    }


def endpoint_crd() -> dict[str, Any]:
    return _crd(
        "OnlineEndpoint",
        "onlineendpoints",
        ["mlkendpoint", "mlkep"],
        "Namespaced",
        spec_schema("kubernetesOnlineEndpoint.schema.json"),
        [
            {"name": "State", "type": "string", "jsonPath": ".status.state"},
            {"name": "Traffic", "type": "string", "jsonPath": ".status.trafficText"},
            {"name": "URI", "type": "string", "jsonPath": ".status.scoringUri"},
            _AGE,
        ],
        "An Azure ML online endpoint (az ml online-endpoint YAML); its name is the endpoint's name.",
    )


def deployment_crd() -> dict[str, Any]:
    spec = spec_schema("kubernetesOnlineDeployment.schema.json")
    spec["properties"]["runtime"] = _RUNTIME
    return _crd(
        "OnlineDeployment",
        "onlinedeployments",
        ["mlkdeployment", "mlkdep"],
        "Namespaced",
        spec,
        [
            {"name": "Endpoint", "type": "string", "jsonPath": ".spec.endpoint_name"},
            {"name": "State", "type": "string", "jsonPath": ".status.state"},
            {"name": "Ready", "type": "string", "jsonPath": ".status.readyText"},
            _AGE,
        ],
        "An Azure ML Kubernetes online deployment (az ml online-deployment YAML); named <endpoint>-<deployment>.",
    )


def instance_type_crd() -> dict[str, Any]:
    return _crd(
        "InstanceType",
        "instancetypes",
        ["mlkit"],
        "Cluster",
        instance_type_spec_schema(),
        [
            {"name": "CPU", "type": "string", "jsonPath": ".spec.resources.limits.cpu"},
            {"name": "Memory", "type": "string", "jsonPath": ".spec.resources.limits.memory"},
            _AGE,
        ],
        "A node selector and container resources that deployments pick with instance_type (Azure's InstanceType).",
    )


def _typed(kind: str, *keys: str) -> dict[str, Any]:
    """Properties of one type, each its own dict (shared ones would come out as YAML aliases)."""
    extra = {PRESERVE: True} if kind == "object" else {}
    return {k: {"type": kind, **extra} for k in keys}


_JOB_SPEC = {
    "type": "object",
    "description": (
        "A command job as mlk prepared it (mlk.workspace.jobrecords.Prepared): the command with its "
        "${{inputs.x}} / ${{outputs.y}} bindings, the code and data inputs as manifest digests in the "
        "workspace's storage, plus what the cluster runs it with: image (the environment's, built and "
        "pushed), storage_secret and registry_secret (the workspace's Secrets), queue (Volcano's)."
    ),
    "properties": {
        **_typed("string", "name", "workspace", "experiment_name", "display_name", "command", "compute"),
        **_typed("string", "code", "instance_type", "shm_size", "tracking_uri", "run_id"),
        **_typed("string", "image", "storage_secret", "registry_secret", "image_pull_secret", "queue"),
        "instance_count": {"type": "integer", "minimum": 1},
        "timeout": {"type": "integer"},
        "environment_variables": {"type": "object", "additionalProperties": {"type": "string"}},
        **_typed("object", "environment", "inputs", "outputs", "distribution"),
    },
    "required": ["name", "command", "image", "storage_secret"],
}


def job_crd() -> dict[str, Any]:
    """AmlJob: installed with enableTraining, not among `crds()` (inference alone does not need it)."""
    return _crd(
        "AmlJob",
        "amljobs",
        ["mlkjob"],
        "Namespaced",
        _JOB_SPEC,
        [
            {"name": "Status", "type": "string", "jsonPath": ".status.status"},
            {"name": "Instances", "type": "integer", "jsonPath": ".spec.instance_count"},
            _AGE,
        ],
        "An Azure ML command job (az ml job create) on this cluster; named after the job.",
    )


def crds() -> list[dict[str, Any]]:
    """The three CRDs, in apply order."""
    return [endpoint_crd(), deployment_crd(), instance_type_crd()]
