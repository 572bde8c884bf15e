"""The steps of the write pipeline that decide what is stored: server-owned fields, defaults, validation.

`restore` gives back what clients cannot set (uid, resourceVersion, creationTimestamp, managedFields, a
deletionTimestamp...) and applies the status subresource rule; `admit` fills in defaults, or defaults and prunes a
custom resource, then collects every validation error; `generation_step` and `unchanged` decide whether
`generation` moves and whether the write is a no-op (stored as nothing: no new resourceVersion, no event).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakekube import crd, meta
from tests.fakekube.defaults import apply_defaults
from tests.fakekube.errors import cause
from tests.fakekube.resources import ResourceType
from tests.fakekube.rules import rule_errors
from tests.fakekube.schema import default_and_prune
from tests.fakekube.validate import builtin_errors, errors_of, object_meta_errors, prune_unknown

Obj = dict[str, Any]


def restore(rtype: ResourceType, new: Obj, old: Obj | None, subresource: str) -> Obj:
    """Server-owned metadata back from the stored object; the status subresource rule."""
    if old is None:
        if rtype.has_status:
            new.pop("status", None)
        for field in meta.SYSTEM_FIELDS:
            new["metadata"].pop(field, None)
        new["metadata"].update(uid=meta.new_uid(), creationTimestamp=meta.now())
        return new
    if subresource == "status":
        status = new.get("status")
        new = {**copy.deepcopy(old), "apiVersion": new["apiVersion"], "kind": new["kind"]}
        new.pop("status", None)
        if status is not None:
            new["status"] = status
    elif rtype.has_status:
        new.pop("status", None)
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
    for field in meta.SYSTEM_FIELDS:
        new["metadata"].pop(field, None)
        if field in old["metadata"]:
            new["metadata"][field] = copy.deepcopy(old["metadata"][field])
    return new


def admit(
    rtype: ResourceType, new: Obj, old: Obj | None, kube_version: str, validation: str, applying: bool
) -> list[Obj]:
    """Defaults, pruning and validation; the list of errors (empty when the object is acceptable)."""
    md = new["metadata"]
    errors = meta.metadata_errors(md, rtype.names)
    if rtype.custom:
        assert rtype.schema is not None
        for field in [f for f in md if f not in meta.OBJECT_META_FIELDS]:
            del md[field]
        pruned: list[str] = []
        default_and_prune(new, rtype.schema, "", pruned, root=True)
        if applying or validation == "Strict":
            errors += [cause(f".{p}", "field not declared in schema") for p in pruned]
        errors += object_meta_errors(md, kube_version) + errors_of(rtype.validator, new)
    else:
        apply_defaults(rtype.key, new, old)
        strict = applying or validation not in {"Ignore", "Warn"}
        if not strict:
            prune_unknown(new, kube_version)
        schema_errors = builtin_errors(new, kube_version, strict)
        errors += schema_errors or rule_errors(rtype.key, new)
        if rtype.key == crd.KEY and not schema_errors:
            errors += crd.check(new)
            if not errors:
                crd.admit(new, old)
    if old is not None and old["metadata"].get("deletionTimestamp"):
        added = set(md.get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
        if added:
            message = "Forbidden: no new finalizers can be added if the object is being deleted, found new " + (
                f"finalizers {sorted(added)}"
            )
            errors.append(cause("metadata.finalizers", message, "FieldValueForbidden"))
    return errors


def generation_step(rtype: ResourceType, old: Obj, new: Obj) -> int:
    """1 when anything but metadata (and status, where status is separate) changed: `generation` moves."""
    skip = {"metadata", "apiVersion", "kind"} | ({"status"} if rtype.has_status or not rtype.custom else set())
    return int({k: v for k, v in old.items() if k not in skip} != {k: v for k, v in new.items() if k not in skip})


def unchanged(old: Obj, new: Obj) -> bool:
    """Equal but for resourceVersion and the times in managedFields: the write would store nothing new."""

    def normal(obj: Obj) -> Obj:
        out = {k: v for k, v in obj.items() if k not in {"apiVersion", "kind"}}
        md = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
        md["managedFields"] = [{k: v for k, v in e.items() if k != "time"} for e in md.get("managedFields") or []]
        return {**out, "metadata": md}

    return normal(old) == normal(new)
