"""Label and field selectors, parsed as the API server parses them and matched against stored objects.

mlk finds an endpoint's pods and deployments by label; kopf may narrow its watches with both kinds. A selector
the real server cannot parse is a 400 here too, and field selectors are limited to the labels each kind
supports upstream (asking for another is a 400 there, so it must be one here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.fakekube.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses (`a in (x,y),b` is two requirements)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _requirement(text: str) -> Matcher:
    if m := re.fullmatch(rf"(!?)\s*({_KEY})", text):
        negate, key = m.group(1) == "!", m.group(2)
        return lambda labels: (key in labels) != negate
    if m := re.fullmatch(rf"({_KEY})\s+(in|notin)\s*\(([^)]*)\)", text):
        key, op = m.group(1), m.group(2)
        values = {v.strip() for v in m.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := re.fullmatch(rf"({_KEY})\s*(==|=|!=)\s*({_VALUE})", text):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := re.fullmatch(rf"({_KEY})\s*([<>])\s*(-?\d+)", text):
        key, op, number = m.group(1), m.group(2), int(m.group(3))
        return lambda labels: _compare(labels.get(key), op, number)
    raise bad_request(f"unable to parse requirement: {text!r}")


def _compare(value: str | None, op: str, number: int) -> bool:
    if value is None or not re.fullmatch(r"-?\d+", value):
        return False
    return int(value) > number if op == ">" else int(value) < number


def label_matcher(selector: str | None) -> Matcher:
    """A predicate over an object's labels; the empty selector matches everything."""
    requirements = [_requirement(part) for part in _split(selector or "")]
    return lambda obj: all(r((obj.get("metadata") or {}).get("labels") or {}) for r in requirements)


FIELD_LABELS: dict[str, frozenset[str]] = {
    "pods": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "secrets": frozenset({"type"}),
    "namespaces": frozenset({"status.phase"}),
}


def _field(obj: dict[str, Any], path: str) -> str:
    if path == "source":
        return str((obj.get("source") or {}).get("component", ""))
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_matcher(selector: str | None, plural: str) -> Matcher:
    """A predicate over an object's selectable fields (metadata.name, metadata.namespace, per-kind extras)."""
    checks: list[tuple[str, bool, str]] = []
    allowed = {"metadata.name", "metadata.namespace"} | FIELD_LABELS.get(plural, frozenset())
    for part in _split(selector or ""):
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid field selector: {part!r}")
        path, op, value = m.groups()
        if path not in allowed:
            raise bad_request(f'field label not supported: {path} ("{plural}" supports: {", ".join(sorted(allowed))})')
        checks.append((path, op == "!=", value.strip()))
    return lambda obj: all((_field(obj, path) == value) != negate for path, negate, value in checks)
