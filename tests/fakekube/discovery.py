"""Discovery documents: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`.

kopf scans these at start-up and again whenever a CRD changes, to learn each resource's plural, scope, verbs and
subresources (it patches `/status` only when discovery lists it); the client's dynamic API does the same. So a
CRD's resources appear here as soon as the CRD is established, and disappear with it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tests.fakekube.resources import ALL_VERBS, Registry, ResourceType


def version_info(kube_version: str) -> dict[str, str]:
    major, minor = kube_version.removeprefix("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{major}.{minor}.0-fakekube",
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _entry(rtype: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": rtype.plural,
        "singularName": rtype.singular_name,
        "namespaced": rtype.namespaced,
        "kind": rtype.kind,
        "verbs": list(ALL_VERBS),
        "storageVersionHash": hashlib.sha256(f"{rtype.api_version}/{rtype.kind}".encode()).hexdigest()[:11],
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    entries = [entry]
    for sub in sorted(rtype.subresources):
        verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
        name = f"{rtype.plural}/{sub}"
        entries.append(
            {"name": name, "singularName": "", "namespaced": rtype.namespaced, "kind": rtype.kind, "verbs": verbs}
        )
    return entries


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """APIResourceList of one group version; None when nothing is served there."""
    types = [t for t in registry.all() if t.group == group and t.version == version]
    if not types:
        return None
    group_version = f"{group}/{version}" if group else version
    resources = [e for t in sorted(types, key=lambda t: t.plural) for e in _entry(t)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list(registry: Registry) -> dict[str, Any]:
    groups = [_group(name, versions) for name, versions in registry.groups().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.groups().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}
