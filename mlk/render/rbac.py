"""ServiceAccounts and least-privilege RBAC for the operator and the router.

Every rule names its API group, resources and verbs: no wildcards, no cluster-admin. Both roles are
ClusterRoles because endpoints live in any namespace a compute targets. The operator runs kopf in
standalone mode (one replica, Recreate strategy), so it needs no peering resources and no leases.
"""

from __future__ import annotations

from typing import Any

from mlk.render import names
from mlk.render.objects import meta
from mlk.render.options import ExtensionOptions

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "get", "list", "patch", "update", "watch"]

# (apiGroup, resources, verbs) — sorted by group then resource when rendered
_OPERATOR_RULES: list[tuple[str, list[str], list[str]]] = [
    # its own resources: reconcile spec, write status, add/remove finalizers (kopf patches the object);
    # delete on deployments because OwnerReferencesPermissionEnforcement lets only a client that may delete
    # an object set an ownerReference on it (the operator makes each deployment its endpoint's dependent)
    (names.GROUP, ["onlinedeployments"], ["delete", "get", "list", "patch", "update", "watch"]),
    (names.GROUP, ["onlineendpoints"], ["get", "list", "patch", "update", "watch"]),
    (names.GROUP, ["onlinedeployments/status", "onlineendpoints/status"], ["get", "patch", "update"]),
    # blockOwnerDeletion on children needs update on the owner's finalizers subresource
    (names.GROUP, ["onlinedeployments/finalizers", "onlineendpoints/finalizers"], ["update"]),
    (names.GROUP, ["instancetypes"], READ),
    # what a deployment becomes
    ("apps", ["deployments"], WRITE),
    ("", ["secrets", "serviceaccounts", "services"], WRITE),
    ("networking.k8s.io", ["networkpolicies"], WRITE),
    # readiness, crash reasons, get-logs
    ("", ["pods"], READ),
    ("", ["pods/log"], ["get"]),
    ("discovery.k8s.io", ["endpointslices"], READ),
    ("", ["events"], ["create", "patch"]),
    # kopf observes CRDs and namespaces at run time (read-only)
    ("apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"]),
    ("", ["namespaces"], ["list", "watch"]),
]
# enableTraining: the AmlJob controller (mlk.operator.jobs) and what a job becomes; Services, Secrets, pods
# and pods/log are granted above already
_TRAINING_RULES: list[tuple[str, list[str], list[str]]] = [
    (names.GROUP, ["amljobs"], ["delete", "get", "list", "patch", "update", "watch"]),
    (names.GROUP, ["amljobs/status"], ["get", "patch", "update"]),
    (names.GROUP, ["amljobs/finalizers"], ["update"]),
    ("batch", ["jobs"], WRITE),
    ("batch.volcano.sh", ["jobs"], WRITE),
]
_ROUTER_RULES: list[tuple[str, list[str], list[str]]] = [
    # the routing table: endpoints (traffic, keys Secret), deployments (request settings)
    (names.GROUP, ["onlinedeployments", "onlineendpoints"], READ),
    # replicas that are ready, per deployment Service
    ("discovery.k8s.io", ["endpointslices"], READ),
]
# endpoint keys: only the operator's copies in the extension's own namespace (a Role, not a ClusterRole:
# the router can read no Secret of any team's namespace)
_ROUTER_NAMESPACE_RULES: list[tuple[str, list[str], list[str]]] = [("", ["secrets"], READ)]


def _rules(rules: list[tuple[str, list[str], list[str]]]) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": sorted(verbs)}
        for group, resources, verbs in sorted(rules, key=lambda r: (r[0], r[1]))
    ]


def _service_account(name: str, options: ExtensionOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(name, options.namespace, labels=names.base_labels(_component(name))),
    }


def _component(name: str) -> str:
    return name.removeprefix("mlk-")


def _cluster_role(name: str, rules: list[tuple[str, list[str], list[str]]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(name, labels=names.base_labels(_component(name))),
        "rules": _rules(rules),
    }


def _binding(name: str, options: ExtensionOptions) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(name, labels=names.base_labels(_component(name))),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": options.namespace}],
    }


def service_accounts(options: ExtensionOptions) -> list[dict[str, Any]]:
    router = [_service_account(names.ROUTER, options)] if options.enable_inference else []
    return [_service_account(names.OPERATOR, options), *router]


def _role(name: str, options: ExtensionOptions, rules: list[tuple[str, list[str], list[str]]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(name, options.namespace, labels=names.base_labels(_component(name))),
        "rules": _rules(rules),
    }


def _role_binding(name: str, options: ExtensionOptions) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(name, options.namespace, labels=names.base_labels(_component(name))),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": options.namespace}],
    }


def rbac(options: ExtensionOptions) -> list[dict[str, Any]]:
    """Roles, then their bindings (a binding to a missing role grants nothing until it exists)."""
    operator = _cluster_role(names.OPERATOR, _OPERATOR_RULES + (_TRAINING_RULES if options.enable_training else []))
    if not options.enable_inference:  # training alone: the operator's job controller, no router
        return [operator, _binding(names.OPERATOR, options)]
    return [
        operator,
        _cluster_role(names.ROUTER, _ROUTER_RULES),
        _role(names.ROUTER, options, _ROUTER_NAMESPACE_RULES),
        _binding(names.OPERATOR, options),
        _binding(names.ROUTER, options),
        _role_binding(names.ROUTER, options),
    ]
