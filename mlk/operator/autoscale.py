"""Autoscaling for scale_settings target_utilization, from the routers' own load figures (no HPA).

Every polling_interval the operator reads each router's /metrics, adds up the deployment's requests in
flight and queued, and works out utilization = (busy replicas + queued requests) / replicas, as
azureml-fe does. Above target_utilization_percentage it scales up at once, to the count that brings
utilization back to the target; below, it waits until utilization has stayed low for SCALE_DOWN_PERIODS
polls before scaling down, so a short lull does not cost a cold start. Always within min/max_instances.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SCALE_DOWN_PERIODS = 20
_SAMPLE = re.compile(r'^(?P<name>[a-z_]+)\{endpoint="(?P<ep>[^"]*)",deployment="(?P<dep>[^"]*)"\} (?P<value>\S+)$')


@dataclass(frozen=True)
class Settings:
    min_instances: int = 1
    max_instances: int = 1
    target: float = 0.7
    polling_interval: float = 1.0

    @classmethod
    def of(cls, scale: Mapping[str, Any]) -> Settings:
        return cls(
            int(scale.get("min_instances", 1)),
            int(scale.get("max_instances", 1)),
            float(scale.get("target_utilization_percentage", 70)) / 100,
            max(1.0, float(scale.get("polling_interval", 1))),
        )


@dataclass(frozen=True)
class Decision:
    replicas: int
    low_since: float | None
    """When utilization first went below target without a scale-down since (None: it is not low)."""


def decide(current: int, utilization: float, settings: Settings, now: float, low_since: float | None) -> Decision:
    bounded = min(settings.max_instances, max(settings.min_instances, current))
    if bounded != current:  # min/max changed under us: obey them first
        return Decision(bounded, None)
    wanted = min(
        settings.max_instances, max(settings.min_instances, math.ceil(current * utilization / settings.target))
    )
    if wanted > current:
        return Decision(wanted, None)
    if wanted == current:
        return Decision(current, None)
    since = low_since if low_since is not None else now
    if now - since >= SCALE_DOWN_PERIODS * settings.polling_interval:
        return Decision(wanted, None)
    return Decision(current, since)


def load_from_metrics(pages: Iterable[str], endpoint: str, deployment: str) -> tuple[float, float]:
    """(requests in flight, requests queued) for one deployment, summed over the routers' /metrics pages."""
    in_flight = queued = 0.0
    for page in pages:
        for line in page.splitlines():
            match = _SAMPLE.match(line)
            if not match or match["ep"] != endpoint or match["dep"] != deployment:
                continue
            if match["name"] == "mlk_router_in_flight":
                in_flight += float(match["value"])
            elif match["name"] == "mlk_router_queue_depth":
                queued += float(match["value"])
    return in_flight, queued


def utilization(in_flight: float, queued: float, replicas: int, concurrency: int) -> float:
    """(busy replicas + queued requests) / replicas."""
    if replicas <= 0:
        return 0.0
    busy = min(float(replicas), in_flight / max(1, concurrency))
    return (busy + queued) / replicas
