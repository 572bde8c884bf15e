"""Names and labels of everything mlk puts in a cluster, derived from Azure names without lookups.

The CLI, the operator and the router each compute the name of an endpoint's Secret or a deployment's
Service from the endpoint and deployment names alone, so they agree without asking the API server.
`k8s_name` makes a DNS-1123 label of any parts; a name that would be too long is cut and ends with
8 hex digits of a SHA-256 of the whole name, so two long names that share a prefix never collide.

Azure compares endpoint and deployment names without case (they end up in DNS names); mlk's cluster
objects therefore use the lowercase form, in object names and in label values alike.
"""

from __future__ import annotations

import hashlib
import re

GROUP = "mlk.dev"
"""API group of mlk's custom resources (Azure's extension uses amlarc.azureml.com: the two can coexist)."""
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

LABEL_ENDPOINT = "mlk.dev/endpoint"
LABEL_DEPLOYMENT = "mlk.dev/deployment"
AZURE_LABEL_ENDPOINT = "ml.azure.com/endpoint-name"
"""Azure's pod labels (the contract's "pod shape"): tools written for Azure's extension select by them."""
AZURE_LABEL_DEPLOYMENT = "ml.azure.com/deployment-name"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "mlk"

OPERATOR = "mlk-operator"
ROUTER = "mlk-router"
ROUTER_TLS_SECRET = "mlk-router-tls"
TRACKING = "mlk-tracking"
"""The MLflow tracking server's Deployment, Service and volume claim (enableTraining)."""
TRACKING_SECRET = "mlk-tracking-auth"
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"

MAX_LABEL = 63
_HASH_LEN = 8
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def k8s_name(*parts: str, max_len: int = MAX_LABEL) -> str:
    """A DNS-1123 label (lowercase letters, digits, '-'; alphanumeric at both ends) joining `parts` with '-'.

    Longer than `max_len`: the first `max_len - 9` characters, '-', and 8 hex digits of SHA-256 of the full
    (normalised) name. Deterministic, so every component derives the same name.
    """
    if not parts or not all(parts):
        raise ValueError(f"k8s_name needs non-empty parts, got {parts!r}")
    if max_len < _HASH_LEN + 2:
        raise ValueError(f"max_len must be at least {_HASH_LEN + 2}")
    full = "-".join(_DASHES.sub("-", _INVALID.sub("-", p.lower())).strip("-") for p in parts)
    full = _DASHES.sub("-", full).strip("-")
    if not full:
        raise ValueError(f"no letters or digits in {parts!r}")
    if len(full) <= max_len:
        return full
    digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:_HASH_LEN]
    return f"{full[: max_len - _HASH_LEN - 1].rstrip('-')}-{digest}"


def canonical(name: str) -> str:
    """The form of an Azure name used in label values: lowercase (Azure treats names without case)."""
    return name.lower()


def endpoint_object_name(endpoint: str) -> str:
    """Name of an endpoint's OnlineEndpoint resource."""
    return k8s_name(endpoint)


def deployment_object_name(endpoint: str, deployment: str) -> str:
    """Name of a deployment's OnlineDeployment, Deployment, Service and ServiceAccount.

    The endpoint is part of it: two endpoints in one namespace both have a `blue`.
    """
    return k8s_name(endpoint, deployment)


def keys_secret_name(endpoint: str) -> str:
    """Name of the Secret holding an endpoint's keys (or its token-signing secret)."""
    return k8s_name(endpoint, "keys")


LABEL_ENDPOINT_NAMESPACE = "mlk.dev/endpoint-namespace"
ROUTED_KEYS = "routed-keys"
"""Component label of the copies of endpoint keys the operator keeps in the extension's namespace: the
routers read Secrets there and nowhere else (least privilege; RBAC cannot narrow a cluster-wide read)."""


def routed_keys_secret_name(namespace: str, endpoint: str) -> str:
    return k8s_name("keys", namespace, canonical(endpoint))


def base_labels(component: str) -> dict[str, str]:
    """Labels every object mlk renders carries: who manages it and which part of mlk it is."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_PART_OF: "mlk", LABEL_COMPONENT: component}


def endpoint_labels(endpoint: str) -> dict[str, str]:
    name = canonical(endpoint)
    return {LABEL_ENDPOINT: name, AZURE_LABEL_ENDPOINT: name}


def deployment_labels(endpoint: str, deployment: str) -> dict[str, str]:
    name = canonical(deployment)
    return {**endpoint_labels(endpoint), LABEL_DEPLOYMENT: name, AZURE_LABEL_DEPLOYMENT: name}


def selector_labels(endpoint: str, deployment: str) -> dict[str, str]:
    """The immutable selector of a deployment's pods (a Deployment's selector cannot change later)."""
    return {LABEL_ENDPOINT: canonical(endpoint), LABEL_DEPLOYMENT: canonical(deployment)}
