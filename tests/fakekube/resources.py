"""The resource types the fake serves: the built-in ones mlk, kopf and the client touch, plus every served
version of each established CRD.

A type is what discovery advertises and what a URL resolves to. Objects are stored per (group, plural), so
all served versions of a CRD share their objects (conversion strategy `None`: only `apiVersion` changes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, eq=False)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()
    names: str = "subdomain"
    """Which rule metadata.name follows: subdomain, label (namespaces), dns1035 (services), path (RBAC)."""
    singular: str = ""
    generation: bool = False
    """Whether objects carry metadata.generation (custom resources and kinds with a spec/status split do)."""
    schema: dict[str, Any] | None = field(default=None, repr=False)
    """For a custom resource: its version's openAPIV3Schema (None for built-ins, validated upstream)."""
    validator: Any = field(default=None, repr=False)
    """For a custom resource: the compiled JSON Schema validator of `schema`."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Where its objects live in the store: shared by all versions of the type."""
        return (self.group, self.plural)

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def custom(self) -> bool:
        return self.schema is not None

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _t(
    group: str, version: str, kind: str, plural: str, namespaced: bool = True, *short: str, **extra: Any
) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, short_names=short, **extra)


STATUS = frozenset({"status"})
BUILTINS: tuple[ResourceType, ...] = (
    _t("", "v1", "Namespace", "namespaces", False, "ns", subresources=STATUS, names="label"),
    _t("", "v1", "Node", "nodes", False, "no", subresources=STATUS),
    _t("", "v1", "Secret", "secrets"),
    _t("", "v1", "ConfigMap", "configmaps", True, "cm"),
    _t("", "v1", "Service", "services", True, "svc", subresources=STATUS, names="dns1035", categories=("all",)),
    _t("", "v1", "ServiceAccount", "serviceaccounts", True, "sa"),
    _t("", "v1", "Pod", "pods", True, "po", subresources=frozenset({"status", "log"}), categories=("all",)),
    _t("", "v1", "Event", "events", True, "ev"),
    _t("", "v1", "Endpoints", "endpoints", True, "ep", singular="endpoints"),
    _t(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        "deploy",
        subresources=STATUS,
        categories=("all",),
        generation=True,
    ),
    _t("apps", "v1", "DaemonSet", "daemonsets", True, "ds", subresources=STATUS, categories=("all",), generation=True),
    _t(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        "hpa",
        subresources=STATUS,
        generation=True,
    ),
    _t(
        "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, "pdb", subresources=STATUS, generation=True
    ),
    _t("networking.k8s.io", "v1", "Ingress", "ingresses", True, "ing", subresources=STATUS, generation=True),
    _t("rbac.authorization.k8s.io", "v1", "Role", "roles", names="path"),
    _t("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", names="path"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, names="path"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, names="path"),
    _t("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", generation=True),
    _t("coordination.k8s.io", "v1", "Lease", "leases"),
    _t(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        "crd",
        "crds",
        subresources=STATUS,
        categories=("api-extensions",),
        generation=True,
    ),
)


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes' version order, highest first when sorted: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0, version)
    stability = {"": 0, "beta": 1, "alpha": 2}[match.group(2) or ""]
    return (stability, -int(match.group(1)), -int(match.group(3) or 0), version)


class Registry:
    """Resolves (group, version, plural) to a type; CRDs add and remove theirs while the server runs."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_crd: dict[str, list[ResourceType]] = {}
        for rtype in BUILTINS:
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def builtin(self, plural: str, group: str = "") -> ResourceType:
        return next(t for t in BUILTINS if t.plural == plural and t.group == group)

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def any_version(self, group: str, plural: str) -> ResourceType | None:
        """The preferred served version of a (group, plural): objects there can be read through it."""
        found = [t for t in self._types.values() if t.group == group and t.plural == plural]
        return min(found, key=lambda t: version_priority(t.version)) if found else None

    def of_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return next((t for t in self._types.values() if t.api_version == api_version and t.kind == kind), None)

    def set_crd(self, crd_name: str, types: Iterable[ResourceType]) -> None:
        self.drop_crd(crd_name)
        self._by_crd[crd_name] = list(types)
        for rtype in self._by_crd[crd_name]:
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype

    def drop_crd(self, crd_name: str) -> None:
        for rtype in self._by_crd.pop(crd_name, []):
            self._types.pop((rtype.group, rtype.version, rtype.plural), None)

    def groups(self) -> dict[str, list[str]]:
        """Group name → its versions, preferred first ("" is the legacy core group)."""
        versions: dict[str, set[str]] = {}
        for rtype in self._types.values():
            versions.setdefault(rtype.group, set()).add(rtype.version)
        return {g: sorted(vs, key=version_priority) for g, vs in versions.items()}
