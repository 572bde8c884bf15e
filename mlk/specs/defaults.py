"""Azure's defaults, filled in from the `default` keywords of the schema (one source of truth).

An absent object with a default (`request_settings: {}`) is created and then filled from its own
properties' defaults, so a bare deployment file resolves to the full settings Azure would apply. Maps of
named objects (a job's `inputs` and `outputs`) get their items filled from `additionalProperties`.
"""

from __future__ import annotations

import copy
from typing import Any

_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _type_matches(schema: Any, value: Any, root: dict[str, Any]) -> bool:
    schema = _resolve(schema, root)
    wanted = schema.get("type") if isinstance(schema, dict) else None
    if wanted is None:
        return True
    names = wanted if isinstance(wanted, list) else [wanted]
    return any(isinstance(value, _JSON_TYPES.get(n, object)) for n in names)


def _if_holds(condition: Any, value: Any) -> bool:
    """Enough of `if` for our schemas: `properties` with `const`/`enum`."""
    if not isinstance(value, dict) or not isinstance(condition, dict):
        return False
    for key, sub in condition.get("properties", {}).items():
        if key not in value:
            continue
        if "const" in sub and value[key] != sub["const"]:
            return False
        if "enum" in sub and value[key] not in sub["enum"]:
            return False
    return True


def apply_defaults(value: Any, schema: Any, root: dict[str, Any] | None = None) -> None:
    """Fill absent fields of `value` (in place) with their schema defaults, recursively."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return
    for combinator in ("anyOf", "oneOf"):
        for branch in schema.get(combinator, []):
            if _type_matches(branch, value, root):
                apply_defaults(value, branch, root)
                break
    if "if" in schema:
        branch = schema.get("then") if _if_holds(schema["if"], value) else schema.get("else")
        if branch is not None:
            apply_defaults(value, branch, root)
    if not isinstance(value, dict):
        return
    for name, raw in schema.get("properties", {}).items():
        sub = _resolve(raw, root)
        if name not in value and isinstance(sub, dict) and "default" in sub:
            value[name] = copy.deepcopy(sub["default"])
        if name in value:
            apply_defaults(value[name], sub, root)
    items = schema.get("additionalProperties")
    if isinstance(items, dict):  # name → object maps: each item gets its defaults (an output's mode)
        named = schema.get("properties", {})
        for name, item in value.items():
            if name not in named:
                apply_defaults(item, items, root)
