"""Registry credentials in the cluster: the workspace's registry Secret the CLI applies (Opaque, key
registry.json) and the pull Secret (kubernetes.io/dockerconfigjson) the operator makes from it for each
deployment's pods. Two Secrets, as for storage: the workspace's stays the operator's to read, the pods'
belongs to (and is deleted with) its OnlineDeployment."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from mlk.render import names
from mlk.render.objects import meta

REGISTRY_SECRET_KEY = "registry.json"


def workspace_secret(name: str, namespace: str, registry: Mapping[str, str], workspace: str) -> dict[str, Any]:
    """The workspace's registry connection: {server, username, password} under `registry.json`."""
    server = registry_server(str(registry["url"]))
    fields = {"server": server, "username": str(registry["username"]), "password": str(registry["password"])}
    labels = {**names.base_labels("registry"), "mlk.dev/workspace": names.k8s_name(workspace)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta(name, namespace, labels=labels),
        "stringData": {REGISTRY_SECRET_KEY: json.dumps(fields, sort_keys=True)},
    }


def pull_secret(name: str, namespace: str, connection: Mapping[str, Any]) -> dict[str, Any]:
    """A dockerconfigjson Secret for `connection` ({server, username, password}); ValueError names what is
    missing."""
    missing = [k for k in ("server", "username") if not connection.get(k)]
    if missing:
        raise ValueError(f"the registry connection lacks {', '.join(missing)}")
    user, password = str(connection["username"]), str(connection.get("password") or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    config = {"auths": {str(connection["server"]): {"username": user, "password": password, "auth": token}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": meta(name, namespace, labels=names.base_labels("registry")),
        "stringData": {".dockerconfigjson": json.dumps(config, sort_keys=True)},
    }


def registry_server(url: str) -> str:
    """The host[:port] a registry URL names (`localhost:5000/team` → `localhost:5000`): dockerconfigjson's key."""
    return url.split("://", 1)[-1].split("/", 1)[0]
