"""Server-side apply and field ownership (`metadata.managedFields`).

The real server tracks, per manager, the set of fields it last wrote. That is what makes apply declarative
(a field the manager applied before and omits now is removed, unless another manager owns it) and what makes
two writers collide (applying a value different from one another manager owns is a 409 Conflict, unless `force`).
mlk's operator applies with `fieldManager`/`force`, so both behaviours are reproduced here, with this simplification:
lists are atomic (one leaf), where the real server merges lists of maps by key (`containers` by name, `k:` entries).

Writes that are not applies (create, update, patches) record an `Update` entry and take over the fields they
changed, as upstream does; that is how a later apply can conflict with, say, a controller that scaled a deployment.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakekube import meta
from tests.fakekube.errors import ApiError, conflict
from tests.fakekube.patch import merge_patch

Path = tuple[str, ...]
_UNOWNED_META = frozenset(meta.SYSTEM_FIELDS) | {"name", "namespace", "generateName", "selfLink"}


def leaves(obj: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """The object's fields as ownership sees them: scalars, lists and empty maps are leaves."""
    found: set[Path] = set()
    for key, value in obj.items():
        if not prefix and key in {"apiVersion", "kind"}:
            continue
        if prefix == ("metadata",) and key in _UNOWNED_META:
            continue
        if isinstance(value, dict) and value:
            found |= leaves(value, (*prefix, key))
        else:
            found.add((*prefix, key))
    return found


def _value(obj: Any, path: Path) -> tuple[bool, Any]:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return False, None
        obj = obj[part]
    return True, obj


def _remove(obj: dict[str, Any], path: Path) -> None:
    """Remove a field, and the maps it leaves empty (except the top-level sections)."""
    chain = [obj]
    for part in path[:-1]:
        nxt = chain[-1].get(part)
        if not isinstance(nxt, dict):
            return
        chain.append(nxt)
    chain[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 1, -1):
        if chain[depth]:
            break
        chain[depth - 1].pop(path[depth - 1], None)


def encode(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def decode(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, sub in (tree or {}).items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        paths |= decode(sub, path) if sub else {path}
    return paths


def _entries(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    return copy.deepcopy(((obj or {}).get("metadata") or {}).get("managedFields") or [])


def _is(entry: dict[str, Any], manager: str, operation: str, subresource: str) -> bool:
    return (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == (
        manager,
        operation,
        subresource,
    )


def _own(
    entries: list[dict[str, Any]], manager: str, operation: str, subresource: str, api_version: str
) -> dict[str, Any]:
    for entry in entries:
        if _is(entry, manager, operation, subresource):
            return entry
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "fieldsType": "FieldsV1"}
    if subresource:
        entry["subresource"] = subresource
    entries.append(entry)
    return entry


def _finish(entries: list[dict[str, Any]], fields: dict[int, set[Path]]) -> list[dict[str, Any]]:
    result = []
    for entry in entries:
        paths = fields.get(id(entry), decode(entry.get("fieldsV1") or {}))
        if paths:
            entry["fieldsV1"] = encode(paths)
            entry.setdefault("time", meta.now())
            result.append(entry)
    return result


def record_update(
    old: dict[str, Any] | None, new: dict[str, Any], manager: str, subresource: str, api_version: str
) -> list[dict[str, Any]]:
    """managedFields after a non-apply write: `manager` takes the fields it changed; removed fields are unowned."""
    entries = _entries(old)
    before, after = leaves(old or {}), leaves(new)
    changed = {p for p in after if _value(old or {}, p) != _value(new, p)}
    removed = before - after
    fields = {id(e): decode(e.get("fieldsV1") or {}) - removed - changed for e in entries}
    if changed:
        own = _own(entries, manager, "Update", subresource, api_version)
        fields[id(own)] = fields.get(id(own), set()) | changed
        own["time"] = meta.now()
    return _finish(entries, fields)


def apply(
    old: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    subresource: str,
    api_version: str,
    where: tuple[str, str, str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Merge an applied configuration into `old` (or create from it): the new object and its managedFields."""
    plural, group, name = where
    entries = _entries(old)
    mine = leaves(applied)
    fields = {id(e): decode(e.get("fieldsV1") or {}) for e in entries}
    own = _own(entries, manager, "Apply", subresource, api_version)
    previous = fields.get(id(own), set())
    clashes: list[tuple[str, Path]] = []
    for entry in entries:
        if entry is own:
            continue
        for path in mine & fields[id(entry)]:
            if _value(old or {}, path) == _value(applied, path):
                continue  # shared ownership: both applied the same value
            if force:
                fields[id(entry)].discard(path)
            else:
                clashes.append((str(entry.get("manager")), path))
    if clashes:
        raise _conflicts(clashes, plural, group, name, api_version)
    result = copy.deepcopy(old) if old is not None else {}
    others = set().union(*(fields[id(e)] for e in entries if e is not own))
    for path in previous - mine - others:
        _remove(result, path)
    result = merge_patch(result, applied)
    fields[id(own)] = mine
    own["time"] = meta.now()
    return result, _finish(entries, fields)


def _conflicts(clashes: list[tuple[str, Path]], plural: str, group: str, name: str, api_version: str) -> ApiError:
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{who}" using {api_version}', "field": _dotted(p)}
        for who, p in sorted(clashes)
    ]
    lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes) if len(causes) > 1 else ""
    summary = f"Apply failed with {len(causes)} conflict{'s' if len(causes) > 1 else ''}: " + (
        f"{causes[0]['message']}: {causes[0]['field']}" if len(causes) == 1 else f"\n{lines}"
    )
    error = conflict(plural, group, name, summary)
    error.message = summary
    assert error.details is not None
    error.details["causes"] = causes
    return error


def _dotted(path: Path) -> str:
    return "".join(f".{part}" for part in path)
