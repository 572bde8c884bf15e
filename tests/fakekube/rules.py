"""Cross-field rules of built-in kinds that no JSON schema can express, yet every real server enforces.

The ones a renderer of manifests gets wrong in practice: a workload's selector that does not select its own pod
template, two containers with one name, a multi-port Service with an unnamed port, a pull Secret whose
.dockerconfigjson is missing or not JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tests.fakekube.errors import cause

Obj = dict[str, Any]


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a set of labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        checks = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }
        if not checks.get(op, False):
            return False
    return True


def _containers(pod_spec: Obj, field: str) -> list[Obj]:
    errors, seen = [], set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(group) or []):
            name = container.get("name")
            if name in seen:
                errors.append(
                    cause(f"{field}.{group}[{index}].name", f'Duplicate value: "{name}"', "FieldValueDuplicate")
                )
            seen.add(name)
    return errors


def _workload(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    errors = _containers((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.append(cause("spec.selector", "Invalid value: empty selector is invalid for deployment"))
    elif not selects(selector, labels):
        shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        message = f"Invalid value: map[{shown}]: `selector` does not match template `labels`"
        errors.append(cause("spec.template.metadata.labels", message))
    return errors


def _service(obj: Obj) -> list[Obj]:
    ports = (obj.get("spec") or {}).get("ports") or []
    if len(ports) < 2:
        return []
    return [
        cause(f"spec.ports[{index}].name", "Required value", "FieldValueRequired")
        for index, port in enumerate(ports)
        if not port.get("name")
    ]


def _secret(obj: Obj) -> list[Obj]:
    """Typed Secrets must carry their key (`kubernetes.io/dockerconfigjson`: valid JSON under .dockerconfigjson)."""
    if obj.get("type") != "kubernetes.io/dockerconfigjson":
        return []
    encoded = (obj.get("data") or {}).get(".dockerconfigjson")
    if encoded is None:
        return [cause("data[.dockerconfigjson]", "Required value", "FieldValueRequired")]
    try:
        json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        return [cause("data[.dockerconfigjson]", f'Invalid value: "<secret contents redacted>": {exc}')]
    return []


RULES = {
    ("apps", "deployments"): _workload,
    ("apps", "daemonsets"): _workload,
    ("", "pods"): lambda obj: _containers(obj.get("spec") or {}, "spec"),
    ("", "services"): _service,
    ("", "secrets"): _secret,
}


def rule_errors(key: tuple[str, str], obj: Obj) -> list[Obj]:
    rule = RULES.get(key)
    return rule(obj) if rule else []
