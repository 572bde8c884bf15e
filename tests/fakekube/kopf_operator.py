"""A tiny kopf operator for the end-to-end test: a `Widget` gets a ConfigMap and a status.

Loaded by file path through `kopf run` (KopfRunner), never imported by the tests themselves.
"""

from __future__ import annotations

from typing import Any

import kopf
import kubernetes


@kopf.on.create("fakekube.test", "v1", "widgets")
def create_widget(
    spec: kopf.Spec, name: str, namespace: str | None, body: kopf.Body, patch: kopf.Patch, **_: Any
) -> None:
    """Create `<name>-config` owned by the widget, post an event, then record the ConfigMap in the status."""
    config_map: dict[str, Any] = {"metadata": {"name": f"{name}-config"}, "data": {"size": str(spec.get("size", 0))}}
    kopf.adopt(config_map, owner=body)
    with kubernetes.client.ApiClient() as api:  # configured by kopf's login through the kubeconfig
        kubernetes.client.CoreV1Api(api).create_namespaced_config_map(str(namespace), config_map)  # type: ignore[arg-type]
    kopf.info(body, reason="Configured", message=f"created {name}-config")
    patch.status["phase"] = "Ready"
    patch.status["configMap"] = f"{name}-config"


@kopf.on.delete("fakekube.test", "v1", "widgets")
def delete_widget(name: str, logger: kopf.Logger, **_: Any) -> None:
    """Having a deletion handler makes kopf put its finalizer on every widget, and take it off here."""
    logger.info(f"widget {name} is going")
