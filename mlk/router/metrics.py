"""The router's Prometheus metrics; load figures are read from the live state when scraped."""

from __future__ import annotations

from collections.abc import Callable

from mlk.http.metrics import Counter, Gauge, Histogram, LabelValues, Registry
from mlk.router.state import Deployment, RouterState

LABELS = ("endpoint", "deployment")


class RouterMetrics:
    def __init__(self, state: Callable[[], RouterState]) -> None:
        self.registry = Registry()
        self.requests = self.registry.add(
            Counter(
                "mlk_router_requests_total",
                "Requests answered, by endpoint, deployment and status.",
                (*LABELS, "status"),
            )
        )
        self.latency = self.registry.add(
            Histogram(
                "mlk_router_request_duration_seconds", "Time from a request's arrival to the end of its answer.", LABELS
            )
        )
        self.retries = self.registry.add(
            Counter(
                "mlk_router_retries_total", "Requests sent again to another replica after a connection failure.", LABELS
            )
        )
        self.busy = self.registry.add(
            Counter(
                "mlk_router_replica_busy_total",
                "Requests a replica refused because other routers had filled it (sent again or to another).",
                LABELS,
            )
        )
        self.ejections = self.registry.add(
            Counter("mlk_router_ejections_total", "Replicas taken out of rotation after repeated failures.", LABELS)
        )
        self.mirrored = self.registry.add(
            Counter("mlk_router_mirrored_total", "Mirrored copies, by outcome (sent, dropped).", (*LABELS, "outcome"))
        )

        def read(measure: Callable[[Deployment], float]) -> Callable[[], dict[LabelValues, float]]:
            return lambda: {(d.endpoint, d.name): float(measure(d)) for d in state().deployments()}

        for name, help_text, measure in (
            ("mlk_router_in_flight", "Requests being answered by the deployment's replicas.", lambda d: d.in_flight),
            ("mlk_router_queue_depth", "Requests waiting for a free replica.", lambda d: len(d.waiters)),
            (
                "mlk_router_utilization",
                "(busy replicas + queued requests) / replicas; the autoscaler's input.",
                Deployment.utilization,
            ),
            ("mlk_router_replicas_healthy", "Replicas in rotation.", lambda d: sum(r.healthy for r in d.replicas)),
        ):
            self.registry.add(Gauge(name, help_text, LABELS, read=read(measure)))

    def observe(self, endpoint: str, deployment: str, status: int, seconds: float) -> None:
        key = (endpoint, deployment, str(status))
        self.requests.values[key] = self.requests.values.get(key, 0.0) + 1
        self.latency.observe((endpoint, deployment), seconds)
