"""CustomResourceDefinitions: checked, marked Established, and turned into served resource types.

A real server establishes a CRD asynchronously (a controller sets NamesAccepted, then Established, usually within
milliseconds); clients therefore wait for the Established condition before using the new resource. Here the
conditions are set in the same write, so the wait ends at once and the resource is served immediately.
"""

from __future__ import annotations

from typing import Any

from tests.fakekube import meta
from tests.fakekube.errors import cause
from tests.fakekube.resources import ResourceType, version_priority
from tests.fakekube.schema import compile_schema

KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


def check(crd: dict[str, Any]) -> list[dict[str, str]]:
    """What the real server rejects beyond the upstream schema: name, scope, versions, schemas."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    errors = []
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if crd["metadata"].get("name") != expected:
        errors.append(
            cause(
                "metadata.name",
                f'Invalid value: "{crd["metadata"].get("name")}": must be spec.names.plural+"."+spec.group',
            )
        )
    if spec.get("scope") not in {"Namespaced", "Cluster"}:
        errors.append(
            cause("spec.scope", f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"')
        )
    versions = spec.get("versions") or []
    if sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(cause("spec.versions", "Invalid value: must have exactly one version marked as storage version"))
    if not any(v.get("served") for v in versions):
        errors.append(cause("spec.versions", "Invalid value: must have at least one version marked as served"))
    for index, version in enumerate(versions):
        if not ((version.get("schema") or {}).get("openAPIV3Schema")):
            errors.append(
                cause(f"spec.versions[{index}].schema.openAPIV3Schema", "Required value: schemas are required")
            )
    for field in ("plural", "kind"):
        if not names.get(field):
            errors.append(cause(f"spec.names.{field}", "Required value"))
    return errors


def admit(crd: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Fill in the defaults and the status a real server's CRD controllers would set."""
    names = crd["spec"]["names"]
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    crd["spec"].setdefault("conversion", {"strategy": "None"})
    status = crd.setdefault("status", {})
    status["acceptedNames"] = dict(names)
    storage = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
    stored = set(((old or {}).get("status") or {}).get("storedVersions") or []) | {storage}
    status["storedVersions"] = sorted(stored, key=version_priority)
    previous = {c["type"]: c for c in ((old or {}).get("status") or {}).get("conditions") or []}
    status["conditions"] = [
        previous.get("NamesAccepted") or _condition("NamesAccepted", "NoConflicts", "no conflicts found"),
        previous.get("Established")
        or _condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ]


def _condition(kind: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": "True", "lastTransitionTime": meta.now(), "reason": reason, "message": message}


def types_of(crd: dict[str, Any]) -> list[ResourceType]:
    """One resource type per served version."""
    spec = crd["spec"]
    names = spec["names"]
    return [
        ResourceType(
            group=spec["group"],
            version=version["name"],
            kind=names["kind"],
            plural=names["plural"],
            namespaced=spec["scope"] == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            subresources=frozenset(k for k in (version.get("subresources") or {}) if k == "status"),
            categories=tuple(names.get("categories") or ()),
            singular=names.get("singular", ""),
            generation=True,
            schema=version["schema"]["openAPIV3Schema"],
            validator=compile_schema(version["schema"]["openAPIV3Schema"]),
        )
        for version in spec["versions"]
        if version.get("served")
    ]
