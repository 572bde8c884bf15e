"""Small helpers shared by the builders: metadata, None-free dicts, Secret data, quantities, tolerations.

Builders write `None` for "not set" and `clean` drops it, so a manifest never carries `null` fields
(server-side apply would read them as "remove this field").
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

AZURE_TAINTS = (
    "ml.azure.com/amlarc",
    "ml.azure.com/amlarc-workload",
    "ml.azure.com/resource-group",
    "ml.azure.com/workspace",
    "ml.azure.com/compute",
)
"""Taints Azure's extension tolerates (the contract): nodes tainted for Azure ML still run mlk's pods."""


def clean(value: Any) -> Any:
    """A deep copy of `value` without None values in mappings (lists keep their items, minus None)."""
    if isinstance(value, Mapping):
        return {k: clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value if v is not None]
    return value


def meta(
    name: str,
    namespace: str | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """ObjectMeta; empty label or annotation maps are left out."""
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def azure_tolerations() -> list[dict[str, str]]:
    """Tolerate Azure's taints whatever their value and effect (`operator: Exists`, no effect given)."""
    return [{"key": key, "operator": "Exists"} for key in AZURE_TAINTS]


def secret_data(values: Mapping[str, str | bytes]) -> dict[str, str]:
    """A Secret's `data`: base64 of each value, keys sorted (so the same input renders the same bytes)."""
    out: dict[str, str] = {}
    for key in sorted(values):
        raw = values[key]
        out[key] = base64.b64encode(raw.encode("utf-8") if isinstance(raw, str) else raw).decode("ascii")
    return out


def quantity(value: Any) -> Any:
    """A resource quantity as Kubernetes stores it: a string (`1` → "1", `0.5` → "0.5").

    YAML files may say `cpu: 1` or `cpu: 0.5`; the CRD types quantities as int-or-string (as Kubernetes
    does for its own), which rejects a float, so every number becomes its string form here.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def quantities(resources: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A resource list (`{cpu, memory, nvidia.com/gpu}`) with its values as quantity strings, keys sorted."""
    if resources is None:
        return None
    return {k: quantity(resources[k]) for k in sorted(resources)}


NON_ROOT_USER = 65532
"""The numeric user and group every pod mlk renders runs as (Pod Security `restricted` wants runAsNonRoot,
and only a number lets the kubelet check it whatever the image says)."""
POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": NON_ROOT_USER,
    "runAsGroup": NON_ROOT_USER,
    "fsGroup": NON_ROOT_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
TMP_VOLUME = "tmp"
"""An emptyDir at /tmp: what a container with a read-only root filesystem may still write."""


def container_security(*, read_only_root: bool) -> dict[str, Any]:
    """No capabilities, no privilege escalation; the root filesystem read only where the program allows."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
    }


def tmp_mount() -> dict[str, str]:
    return {"name": TMP_VOLUME, "mountPath": "/tmp"}
