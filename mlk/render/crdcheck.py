"""What the API server checks about a CRD's schema and a custom resource, without an API server.

- `structural_problems`: the rules a CRD's openAPIV3Schema must meet to be accepted (structural schema,
  apiextensions.k8s.io/v1): a type on every node, no `$ref`/`if`/`const`/`patternProperties`…, junctors only
  in the int-or-string form, properties and additionalProperties never together, defaults that validate.
- `to_json_schema`: the reverse conversion, for validating custom resources with jsonschema the way the
  server would *and* more strictly: a field the server would silently prune (unknown to the schema) is
  reported, so a valid Azure file that loses data on its way into the cluster fails a test.
- `cr_problems`: a custom resource against its CRD (group, kind, version, scope, name, schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlk.render.structural import INT_OR_STRING, PRESERVE

_ALLOWED = frozenset(
    {
        "description",
        "type",
        "format",
        "enum",
        "default",
        "nullable",
        "properties",
        "additionalProperties",
        "items",
        "required",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
        "anyOf",
        "title",
        "example",
        PRESERVE,
        INT_OR_STRING,
        "x-kubernetes-embedded-resource",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
_INT_OR_STRING_BRANCHES = [{"type": "integer"}, {"type": "string"}]


def structural_problems(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Every rule of a structural schema that `schema` breaks, as `path: message`; [] when it is structural."""
    problems: list[str] = []
    _check(schema, path or ".", problems, root=not path)
    return problems


def _check(node: Any, path: str, problems: list[str], *, root: bool = False) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{path}: a schema must be an object, not {node!r}")
        return
    for key in sorted(set(node) - _ALLOWED):
        problems.append(f"{path}: keyword {key!r} is not allowed in a structural schema")
    preserve, int_or_string = node.get(PRESERVE), node.get(INT_OR_STRING)
    if preserve is not None and preserve is not True:
        problems.append(f"{path}: {PRESERVE} may only be true")
    kind = node.get("type")
    if int_or_string:
        if kind is not None:
            problems.append(f"{path}: {INT_OR_STRING} excludes type")
        if node.get("anyOf", _INT_OR_STRING_BRANCHES) != _INT_OR_STRING_BRANCHES:
            problems.append(f"{path}: {INT_OR_STRING} allows only anyOf [integer, string]")
    elif "anyOf" in node:
        problems.append(f"{path}: anyOf is only allowed in the int-or-string form")
    if kind is None and not (preserve or int_or_string):
        problems.append(f"{path}: no type (needs one, or {PRESERVE} / {INT_OR_STRING})")
    elif kind is not None and (not isinstance(kind, str) or kind not in _TYPES):
        problems.append(f"{path}: type must be one of {sorted(_TYPES)}, not {kind!r}")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties are mutually exclusive")
    extra = node.get("additionalProperties")
    if extra is not None and not isinstance(extra, Mapping):
        problems.append(f"{path}: additionalProperties must be a schema (false is not allowed; fields are pruned)")
    if kind == "array" and "items" not in node:
        problems.append(f"{path}: an array needs items")
    if kind != "object" and ("properties" in node or "additionalProperties" in node):
        problems.append(f"{path}: properties on a non-object")
    for name in node.get("required", []):
        if name not in node.get("properties", {}):
            problems.append(f"{path}: required field {name!r} is not among the properties")
    if root:
        metadata = node.get("properties", {}).get("metadata")
        if metadata is not None and set(metadata) - {"type", "description"}:
            problems.append(f"{path}.metadata: only its type may be given (the server owns ObjectMeta)")
    if "default" in node:
        _check_default(node, path, problems)
    for name, sub in node.get("properties", {}).items():
        _check(sub, f"{path.rstrip('.')}.{name}", problems)
    if isinstance(extra, Mapping):
        _check(extra, f"{path}[*]", problems)
    if "items" in node:
        _check(node["items"], f"{path}[]", problems)


def _check_default(node: Mapping[str, Any], path: str, problems: list[str]) -> None:
    from jsonschema import Draft202012Validator

    for error in Draft202012Validator(to_json_schema(node)).iter_errors(node["default"]):
        problems.append(f"{path}: default {node['default']!r} is invalid or would be pruned: {error.message}")


def to_json_schema(node: Mapping[str, Any], *, root: bool = False) -> dict[str, Any]:
    """A draft 2020-12 JSON Schema accepting what the server accepts without pruning anything.

    Objects with properties get `additionalProperties: false` (the server would drop unknown fields);
    objects with neither properties nor a value schema nor preserve-unknown-fields must be empty (the
    server prunes them to `{}`), except the root's `metadata`, which the server validates itself.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "additionalProperties", "items", "anyOf", "nullable", "type", "default"):
            continue
        if not key.startswith("x-kubernetes-"):
            out[key] = value
    kind = node.get("type")
    if node.get(INT_OR_STRING):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    elif kind is not None:
        out["type"] = [kind, "null"] if node.get("nullable") else kind
    if kind == "object":
        props = node.get("properties", {})
        if props:
            out["properties"] = {
                name: {"type": "object"} if root and name == "metadata" else to_json_schema(sub)
                for name, sub in props.items()
            }
        if "additionalProperties" in node:
            out["additionalProperties"] = to_json_schema(node["additionalProperties"])
        elif not node.get(PRESERVE):
            out["additionalProperties"] = False
    if kind == "array" and "items" in node:
        out["items"] = to_json_schema(node["items"])
    return out


def cr_problems(crd: Mapping[str, Any], obj: Mapping[str, Any]) -> list[str]:
    """Why the server would reject (or prune part of) custom resource `obj` of this CRD; [] when it is fine."""
    from jsonschema import Draft202012Validator

    spec = crd["spec"]
    problems: list[str] = []
    group, kind = spec["group"], spec["names"]["kind"]
    versions = {f"{group}/{v['name']}": v for v in spec["versions"] if v.get("served")}
    version = versions.get(str(obj.get("apiVersion")))
    if version is None or obj.get("kind") != kind:
        return [f"apiVersion/kind {obj.get('apiVersion')}/{obj.get('kind')} is not served by {crd['metadata']['name']}"]
    metadata = obj.get("metadata", {})
    if not metadata.get("name"):
        problems.append("metadata.name is missing")
    namespaced = spec["scope"] == "Namespaced"
    if namespaced != bool(metadata.get("namespace")):
        problems.append(f"metadata.namespace {'is required' if namespaced else 'must not be set'} ({spec['scope']})")
    validator = Draft202012Validator(to_json_schema(version["schema"]["openAPIV3Schema"], root=True))
    for error in sorted(validator.iter_errors(dict(obj)), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: {error.message}")
    return problems
