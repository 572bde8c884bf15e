"""The router's configuration model: endpoints, keys, traffic and the replicas behind each deployment.

One model whatever feeds it (a static file now; the local workspace and a Kubernetes watch later).
Frozen: a reload builds a new one and swaps it in; requests in flight keep the one they started with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RequestSettings:
    request_timeout_ms: int = 5000
    max_concurrent_requests_per_instance: int = 1
    max_queue_wait_ms: int = 500


@dataclass(frozen=True)
class DeploymentConfig:
    name: str
    replicas: tuple[str, ...] = ()
    """Base URLs, http://HOST:PORT."""
    settings: RequestSettings = RequestSettings()


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    auth_mode: str = "key"
    keys: tuple[str, ...] = ()
    token_secret: str | None = None
    traffic: Mapping[str, int] = field(default_factory=dict)
    mirror_traffic: Mapping[str, int] = field(default_factory=dict)
    deployments: Mapping[str, DeploymentConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class RouterConfig:
    endpoints: Mapping[str, EndpointConfig] = field(default_factory=dict)


def from_spec(data: Mapping[str, Any]) -> RouterConfig:
    """Build the model from a validated, defaulted `router-config` spec (mlk.specs did the checking)."""
    endpoints = {}
    for item in data.get("endpoints", []):
        deployments = {}
        for dep in item.get("deployments", []):
            rs = dep.get("request_settings", {})
            deployments[dep["name"]] = DeploymentConfig(
                dep["name"],
                tuple(r.rstrip("/") for r in dep.get("replicas", [])),
                RequestSettings(
                    rs.get("request_timeout_ms", 5000),
                    rs.get("max_concurrent_requests_per_instance", 1),
                    rs.get("max_queue_wait_ms", 500),
                ),
            )
        endpoints[item["name"]] = EndpointConfig(
            item["name"],
            item.get("auth_mode", "key"),
            tuple(item.get("keys", [])),
            item.get("token_secret"),
            dict(item.get("traffic", {})),
            dict(item.get("mirror_traffic", {})),
            deployments,
        )
    return RouterConfig(endpoints)


def load_file(path: Path) -> RouterConfig:
    """Read, validate (SpecError with every located problem) and build a router configuration."""
    from mlk.specs import load_spec

    return from_spec(load_spec(path, kind="router-config").data)
