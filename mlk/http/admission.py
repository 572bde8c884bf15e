"""Replica-side admission: how several routers keep max_concurrent_requests_per_instance exact.

Each router counts the requests it has in flight on each replica, but with several router replicas in
front of one model replica no router sees the others' requests. So a router states the limit on every
request it forwards (`x-mlk-admission: <max_concurrent_requests_per_instance>`), and `mlk serve`, which
alone sees every request its replica is working on, answers at once `429` with `x-mlk-busy: 1` when that
many are already running or queued. The router then tries another replica or waits and retries within
max_queue_wait_ms; the client sees a 429 only when that wait runs out, as with one router.

A request without the header (a direct call, a probe) is never refused, as azmlinfsrv never refuses one.
"""

from __future__ import annotations

REQUEST_HEADER = "x-mlk-admission"
BUSY_HEADER = "x-mlk-busy"


def parse_limit(value: str | None) -> int | None:
    """The limit a router stated, or None when absent or unreadable (then admission is off)."""
    if value is None:
        return None
    try:
        limit = int(value)
    except ValueError:
        return None
    return limit if limit > 0 else None
