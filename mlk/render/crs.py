"""mlk's custom resources from resolved az ml files: what the CLI applies and the operator reconciles.

A resource's `spec` is the resolved file (Azure's defaults filled in) minus what is not spec (`name`,
`$schema`); names and labels come from mlk.render.names. Resource quantities become strings, as
Kubernetes writes them, so `cpu: 0.5` and `cpu: "0.5"` give the same resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlk.render import names
from mlk.render.crds import NOT_IN_SPEC
from mlk.render.objects import clean, meta, quantities


def plain(value: Any) -> Any:
    """A deep copy made of dicts and lists (resolved specs are read-only mapping proxies)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _body(spec: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = clean(plain({k: v for k, v in spec.items() if k not in NOT_IN_SPEC}))
    _normalise_resources(body.get("resources"))
    return body


def _normalise_resources(resources: Any) -> None:
    if isinstance(resources, dict):
        for part in ("requests", "limits"):
            if isinstance(resources.get(part), Mapping):
                resources[part] = quantities(resources[part])


def endpoint_cr(spec: Mapping[str, Any], namespace: str, *, compute: str) -> dict[str, Any]:
    """The OnlineEndpoint for a resolved online-endpoint spec; `compute` is the compute it was placed on."""
    name = str(spec["name"])
    body = _body(spec)
    body["compute"] = compute
    return {
        "apiVersion": names.API_VERSION,
        "kind": "OnlineEndpoint",
        "metadata": meta(
            names.endpoint_object_name(name),
            namespace,
            labels={**names.base_labels("endpoint"), **names.endpoint_labels(name)},
        ),
        "spec": body,
    }


def deployment_cr(spec: Mapping[str, Any], namespace: str, *, runtime: Mapping[str, Any]) -> dict[str, Any]:
    """The OnlineDeployment for a resolved online-deployment spec plus what mlk filled in at deploy time.

    `runtime`: {image, model: {digest, name}, code: {digest, name}, storage} (see crds._RUNTIME). The
    resource is named `<endpoint>-<deployment>`: deployment names are unique per endpoint only.
    """
    endpoint, name = str(spec["endpoint_name"]), str(spec["name"])
    body = _body(spec)
    body["runtime"] = clean(plain(runtime))
    return {
        "apiVersion": names.API_VERSION,
        "kind": "OnlineDeployment",
        "metadata": meta(
            names.deployment_object_name(endpoint, name),
            namespace,
            labels={**names.base_labels("deployment"), **names.deployment_labels(endpoint, name)},
        ),
        "spec": body,
    }


def instance_type_cr(spec: Mapping[str, Any]) -> dict[str, Any]:
    """mlk's InstanceType from a resolved instance-type file (Azure's CRD shape, either API group)."""
    metadata = spec["metadata"]
    body: dict[str, Any] = clean(plain(spec.get("spec", {})))
    _normalise_resources(body.get("resources"))
    return {
        "apiVersion": names.API_VERSION,
        "kind": "InstanceType",
        "metadata": meta(
            str(metadata["name"]),
            labels={**plain(metadata.get("labels", {})), **names.base_labels("instance-type")},
            annotations=plain(metadata.get("annotations", {})),
        ),
        "spec": body,
    }


def default_instance_type() -> dict[str, Any]:
    """Azure's implicit `defaultinstancetype` (the contract), as an instance-type file would state it.

    The extension installs it; the operator falls back to it when the cluster has none.
    """
    return {
        "apiVersion": names.API_VERSION,
        "kind": "InstanceType",
        "metadata": {"name": names.DEFAULT_INSTANCE_TYPE},
        "spec": {
            "resources": {
                "requests": {"cpu": "100m", "memory": "2Gi"},
                "limits": {"cpu": "2", "memory": "2Gi"},
            }
        },
    }
