"""The Azure Resource Manager keys that scripts written for az ml query on what `show` prints: an ARM-shaped
`id`, `properties`, `identity`, `tags`, `kind`.

mlk has no subscriptions or resource groups, so the id's subscription is the all-zero GUID and its
resource group is `mlk`; what varies is what identifies the resource here: workspace, endpoint, deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "mlk"
PROVIDER = "Microsoft.MachineLearningServices"
NO_IDENTITY = {"type": "none", "principal_id": None, "tenant_id": None}
"""mlk's endpoints act with no Azure identity; scripts reading identity.principal_id get null."""


def workspace_id(workspace: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/{PROVIDER}/workspaces/{workspace}"


def endpoint_id(workspace: str, endpoint: str) -> str:
    return f"{workspace_id(workspace)}/onlineEndpoints/{endpoint}"


def deployment_id(workspace: str, endpoint: str, deployment: str) -> str:
    return f"{endpoint_id(workspace, endpoint)}/deployments/{deployment}"


def endpoint_fields(workspace: str, shown: Mapping[str, Any]) -> dict[str, Any]:
    """`shown` (an endpoint's view) with Azure's keys, `id` first as az prints it."""
    name = str(shown["name"])
    return {
        "id": endpoint_id(workspace, name),
        **shown,
        "identity": dict(NO_IDENTITY),
        "properties": {"mlk.compute": shown.get("compute"), "mlk.workspace": workspace},
        "tags": dict(shown.get("tags") or {}),
        "type": "online_endpoint",
    }


def deployment_fields(workspace: str, shown: Mapping[str, Any]) -> dict[str, Any]:
    name, endpoint = str(shown["name"]), str(shown["endpoint_name"])
    return {
        "id": deployment_id(workspace, endpoint, name),
        **shown,
        "properties": {"mlk.workspace": workspace},
        "tags": dict(shown.get("tags") or {}),
    }


def job_id(workspace: str, job: str) -> str:
    return f"{workspace_id(workspace)}/jobs/{job}"
