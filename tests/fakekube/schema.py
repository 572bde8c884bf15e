"""A CRD's structural schema (OpenAPI v3 with Kubernetes extensions) applied to custom resources.

The real server does three things with it, in this order, and so does the fake: it applies `default`s, prunes
fields the schema does not declare (silently: unknown fields are dropped, not rejected, unless the client asked
for `fieldValidation=Strict`), then validates what remains. Validation goes through `jsonschema` after a
translation of the OpenAPI dialect (`nullable`, boolean `exclusiveMinimum`, `x-kubernetes-int-or-string`).
CEL rules (`x-kubernetes-validations`) and most `format`s are not checked.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

_KEEP = frozenset({"apiVersion", "kind", "metadata"})
_DROP = frozenset({"nullable", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "default"})


def to_json_schema(schema: Any) -> Any:
    """Translate one OpenAPI v3 schema node (recursively) into JSON Schema draft 2020-12."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or key.startswith("x-kubernetes-") or key in {"exclusiveMinimum", "exclusiveMaximum"}:
            continue
        if key in {"properties", "patternProperties", "definitions"}:
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in {"items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"}:
            out[key] = to_json_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if schema.get(bound) is True and limit in out:
            out[bound] = out.pop(limit)
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}, *out.get("anyOf", [])]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def default_and_prune(value: Any, schema: dict[str, Any], path: str, pruned: list[str], root: bool = False) -> Any:
    """Apply defaults and drop undeclared fields in place; `pruned` collects the dropped paths."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        additional = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or isinstance(additional, dict)
        embedded = root or schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            child = f"{path}.{key}" if path else key
            if embedded and key in _KEEP:
                continue  # an object's apiVersion, kind and metadata follow ObjectMeta's rules, not the schema's
            if key in properties:
                value[key] = default_and_prune(value[key], properties[key], child, pruned)
            elif isinstance(additional, dict):
                value[key] = default_and_prune(value[key], additional, child, pruned)
            elif not keep_unknown:
                pruned.append(child)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [default_and_prune(item, schema["items"], f"{path}[{i}]", pruned) for i, item in enumerate(value)]
    return value


def compile_schema(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A validator for a CRD version's openAPIV3Schema (metadata is checked elsewhere, against ObjectMeta)."""
    translated = to_json_schema(schema)
    translated.get("properties", {}).pop("metadata", None)
    return jsonschema.Draft202012Validator(translated)
