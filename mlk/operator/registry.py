"""The pull Secret of each deployment's pods, made by the operator from the workspace's registry Secret
(mlk.render.registry): created with the deployment, owned by it, remade when the credentials change."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from mlk.k8s.cluster import Cluster
from mlk.render import names, registry


class MissingRegistry(Exception):
    """The workspace's registry Secret is not (yet) in the namespace, or cannot be read."""


def pod_secret_name(deployment_object: str) -> str:
    return names.k8s_name(deployment_object, "pull")


def ensure(cluster: Cluster, owner: Mapping[str, Any], source: str) -> str:
    """The name of the OnlineDeployment `owner`'s pull Secret, applied from the registry Secret `source`."""
    from mlk.render.workload import owned_by

    namespace = str(owner["metadata"]["namespace"])
    found = cluster.get("v1", "Secret", source, namespace)
    encoded = ((found or {}).get("data") or {}).get(registry.REGISTRY_SECRET_KEY)
    if encoded is None:
        raise MissingRegistry(
            f"registry Secret '{source}' (key {registry.REGISTRY_SECRET_KEY}) is not in namespace {namespace}"
        )
    name = pod_secret_name(str(owner["metadata"]["name"]))
    try:
        secret = registry.pull_secret(name, namespace, json.loads(base64.b64decode(encoded)))
    except (ValueError, TypeError, AttributeError) as exc:  # not base64, not JSON, not an object
        raise MissingRegistry(f"registry Secret '{source}' cannot be read: {exc}") from exc
    cluster.apply(owned_by(secret, owner))
    return name
