"""The server's Prometheus metrics (GET /metrics)."""

from __future__ import annotations

from mlk.http.metrics import Counter, Gauge, Histogram, Registry
from mlk.server.runner import Runner


class ServerMetrics:
    def __init__(self, runner: Runner) -> None:
        self.registry = Registry()
        self.requests = self.registry.add(
            Counter("mlk_server_requests_total", "Requests answered, by route and status.", ("route", "status"))
        )
        self.latency = self.registry.add(
            Histogram(
                "mlk_server_request_duration_seconds", "Time from a request's arrival to its response.", ("route",)
            )
        )
        self.registry.add(
            Gauge(
                "mlk_server_in_flight",
                "Scoring requests queued or running in this worker.",
                read=lambda: {(): float(runner.queued)},
            )
        )
        self.busy = self.registry.add(
            Counter(
                "mlk_server_admission_refused_total",
                "Router requests refused because this replica was at its concurrency limit.",
            )
        )
        self.run_errors = self.registry.add(
            Counter("mlk_server_run_errors_total", "run() calls that raised an exception.")
        )
        self.registry.add(
            Gauge(
                "mlk_server_stuck_runs",
                "Timed-out run() calls still running on their thread.",
                read=lambda: {(): float(len(runner.stuck))},
            )
        )

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, str(status))
        self.requests.values[key] = self.requests.values.get(key, 0.0) + 1
        self.latency.observe((route,), seconds)
