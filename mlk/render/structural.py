"""JSON Schema (draft 2020-12, as written in schemas/) → a structural OpenAPI v3 schema for a CRD.

schemas/ stays the single source of truth: the CRDs' openAPIV3Schema is generated from it, never written
by hand. The API server only takes *structural* schemas, so the conversion:

- inlines `$ref`s (the referring node's own keywords win, e.g. its description);
- merges `if/then/else` branches into one object (their properties together; their defaults dropped,
  since they only applied under a condition);
- turns `const` into a one-value `enum`, and infers `type` from `enum` values where the schema omits it;
- turns a `type` list into one type (`null` → `nullable`), `x-kubernetes-int-or-string` for integer|string
  and number|string (quantities: numbers reach the cluster as strings, see objects.quantity), else
  `x-kubernetes-preserve-unknown-fields`;
- collapses an `anyOf`/`oneOf` of different shapes (a model given as a string or an object) into a field
  that preserves whatever it is given, with a description saying so;
- drops what the API server rejects or ignores: `$schema`, `$id`, `$defs`, `title`, `errorMessage`,
  `propertyNames`, `patternProperties`, `additionalProperties: false` (the server prunes unknown fields
  instead; see crdcheck.to_json_schema for the check that nothing valid gets pruned);
- marks free-form objects (no properties, no value schema) `x-kubernetes-preserve-unknown-fields`, which
  the server would otherwise prune to `{}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"

_COPIED = (
    "enum",
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
    "format",
)
_PY_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))


def to_structural(schema: Mapping[str, Any], node: Any = None) -> dict[str, Any]:
    """The structural form of `node` (default: the whole `schema`); `schema` supplies the `$defs`."""
    return _Converter(schema.get("$defs", {})).convert(schema if node is None else node)


class _Converter:
    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs

    def deref(self, node: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(node)
        while "$ref" in out:
            ref = out.pop("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
                raise ValueError(f"only local $defs references are supported, not {ref!r}")
            out = {**self.defs[ref.removeprefix("#/$defs/")], **out}
        return out

    def convert(self, raw: Any, *, conditional: bool = False) -> dict[str, Any]:
        if raw is True or raw == {}:
            return {PRESERVE: True}
        node = self.deref(raw)
        if "anyOf" in node or "oneOf" in node:
            return self._alternatives(node, conditional=conditional)
        out: dict[str, Any] = {}
        if isinstance(node.get("description"), str):
            out["description"] = node["description"]
        if "const" in node:
            node["enum"] = [node["const"]]
        for key in _COPIED:
            if key in node:
                out[key] = node[key]
        self._type(node, out, conditional=conditional)
        if "default" in node and not conditional and PRESERVE not in out:
            out["default"] = node["default"]
        return _ordered(out)

    def _type(self, node: dict[str, Any], out: dict[str, Any], *, conditional: bool) -> None:
        types = _types(node)
        if "null" in types:
            out["nullable"] = True
            types = [t for t in types if t != "null"]
        if len(types) == 1:
            out["type"] = types[0]
            if types[0] == "object":
                self._object(node, out, conditional=conditional)
            elif types[0] == "array":
                out["items"] = self.convert(node.get("items", True), conditional=conditional)
        elif set(types) in ({"integer", "string"}, {"number", "string"}):
            _int_or_string(out)
        else:  # several types, or none: the server keeps whatever is given
            for key in ("enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "nullable"):
                out.pop(key, None)
            out[PRESERVE] = True

    def _object(self, node: dict[str, Any], out: dict[str, Any], *, conditional: bool) -> None:
        props: dict[str, Any] = {k: v for k, v in node.get("properties", {}).items() if v is not True}
        branch_only: set[str] = set()
        for branch in ("then", "else"):
            for name, sub in self.deref(node.get(branch, {})).get("properties", {}).items():
                if name not in props and name not in node.get("properties", {}):
                    props[name] = sub
                    branch_only.add(name)
        extra = node.get("additionalProperties")
        if props:
            out["properties"] = {
                name: self.convert(sub, conditional=conditional or name in branch_only) for name, sub in props.items()
            }
            required = [r for r in node.get("required", []) if r in props]
            if required:
                out["required"] = required
            if isinstance(extra, Mapping):  # named fields plus a value schema: not expressible; keep unknowns
                out[PRESERVE] = True
        elif isinstance(extra, Mapping) and extra:
            out["additionalProperties"] = self.convert(extra, conditional=conditional)
        else:
            out[PRESERVE] = True

    def _alternatives(self, node: dict[str, Any], *, conditional: bool) -> dict[str, Any]:
        branches = [self.deref(b) if isinstance(b, Mapping) else {} for b in node.get("anyOf", node.get("oneOf", []))]
        kinds = sorted({t for b in branches for t in _types(b)})
        if set(kinds) in ({"integer", "string"}, {"number", "string"}):
            out: dict[str, Any] = {"description": node["description"]} if "description" in node else {}
            _int_or_string(out)
            return out
        shapes = ", ".join(kinds) if kinds else "any value"
        described = node.get("description") or ""
        note = f"One of: {shapes}; kept as given (the mlk CLI validated it against schemas/)."
        return {"description": f"{described} {note}".strip(), PRESERVE: True}


def _ordered(out: dict[str, Any]) -> dict[str, Any]:
    """description and type first, as people write schemas (the order means nothing to the server)."""
    first = [k for k in ("description", "type") if k in out]
    return {k: out[k] for k in (*first, *(k for k in out if k not in first))}


def _int_or_string(out: dict[str, Any]) -> None:
    """The one junctor form structural schemas allow: anyOf integer|string with x-kubernetes-int-or-string."""
    out.pop("type", None)
    out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    out[INT_OR_STRING] = True


def _types(node: Mapping[str, Any]) -> list[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [str(t) for t in declared]
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if values:
        found = []
        for value in values:
            kind = next((name for py, name in _PY_TYPES if isinstance(value, py)), "null")
            if kind not in found:
                found.append(kind)
        return found
    if "properties" in node or "additionalProperties" in node:
        return ["object"]
    if "items" in node:
        return ["array"]
    return []
