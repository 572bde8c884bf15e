"""The router's live state: replicas with their load and health, deployments with their wait queue.

Built from a RouterConfig and rebuilt on every reload, reusing the Deployment and Replica objects that
still exist, so requests in flight keep their slots and counters stay true across a traffic shift.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mlk.router.balance import Share, SmoothWeighted, least_loaded
from mlk.router.config import DeploymentConfig, EndpointConfig, RouterConfig

EJECT_AFTER_FAILURES = 3


class Replica:
    """One upstream server (a `mlk serve` or any azmlinfsrv-compatible container)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self.in_flight = 0
        self.healthy = True
        self.failures = 0
        self.probing = False
        self.idle: list[object] = []  # pooled upstream connections (mlk.router.upstream.Upstream)
        self.removed = False

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self) -> bool:
        """Count a connection failure; True when the replica should now be ejected."""
        self.failures += 1
        if self.healthy and self.failures >= EJECT_AFTER_FAILURES:
            self.healthy = False
            return True
        return False


@dataclass
class Waiter:
    future: asyncio.Future[Replica]
    deadline: float
    avoid: Replica | None = None
    """The replica that just failed this request: another one, while another is in rotation."""


class Deployment:
    def __init__(self, endpoint: str, config: DeploymentConfig, replicas: Mapping[str, Replica]) -> None:
        self.endpoint = endpoint
        self.name = config.name
        self.config = config
        self.replicas = [replicas.get(url) or Replica(url) for url in config.replicas]
        self.next = 0
        self.waiters: deque[Waiter] = deque()
        self.in_flight = 0
        """Requests holding a slot on one of this deployment's replicas."""

    @property
    def concurrency(self) -> int:
        return self.config.settings.max_concurrent_requests_per_instance

    @property
    def cap(self) -> int:
        """azureml-fe's overall limit: twice what the replicas can run at once (queued ones included)."""
        return 2 * self.concurrency * len(self.replicas)

    def utilization(self) -> float:
        """(busy replicas + queued requests) / replicas — the autoscaler's input."""
        if not self.replicas:
            return 0.0
        busy = sum(min(1.0, r.in_flight / self.concurrency) for r in self.replicas)
        return (busy + len(self.waiters)) / len(self.replicas)

    def try_acquire(self, avoid: Replica | None = None) -> Replica | None:
        """A replica with a free slot, its slot taken; None when all are busy."""
        replicas = [r for r in self.replicas if r is not avoid] if avoid is not None else self.replicas
        index = least_loaded(replicas, self.next, self.concurrency)
        if index is None:
            return None
        self.next = (self.next + 1) % max(1, len(self.replicas))
        replica = replicas[index]
        replica.in_flight += 1
        self.in_flight += 1
        return replica

    def enqueue(
        self, loop: asyncio.AbstractEventLoop, seconds: float | None = None, avoid: Replica | None = None
    ) -> asyncio.Future[Replica]:
        """Wait for a free slot for `seconds` (max_queue_wait_ms when None), on another replica than `avoid`
        while there is another in rotation."""
        future: asyncio.Future[Replica] = loop.create_future()
        wait = self.config.settings.max_queue_wait_ms / 1000 if seconds is None else seconds
        deadline = time.monotonic() + wait
        self.waiters.append(Waiter(future, deadline, avoid))
        return future

    def release(self, replica: Replica) -> None:
        """A request on `replica` finished: hand the slot to the oldest waiter, if any."""
        replica.in_flight -= 1
        self.in_flight -= 1
        if self.waiters:
            self.dispatch_waiters()

    def dispatch_waiters(self) -> None:
        skipped: deque[Waiter] = deque()  # waiters that avoid the one replica with room: they keep their place
        while self.waiters:
            waiter = self.waiters[0]
            if waiter.future.done():
                self.waiters.popleft()
                continue
            avoid = waiter.avoid
            if avoid is not None and not any(r.healthy and r is not avoid for r in self.replicas):
                avoid = None
            replica = self.try_acquire(avoid)
            if replica is None:
                if avoid is None:
                    break  # no slot free at all
                skipped.append(self.waiters.popleft())
                continue
            self.waiters.popleft()
            waiter.future.set_result(replica)
        if skipped:
            skipped.extend(self.waiters)
            self.waiters = skipped

    def expire_waiters(self, now: float) -> None:
        while self.waiters and (self.waiters[0].deadline <= now or self.waiters[0].future.done()):
            waiter = self.waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(QueueTimeout())


class QueueTimeout(Exception):
    """No replica freed up within max_queue_wait_ms."""


@dataclass
class Endpoint:
    config: EndpointConfig
    deployments: dict[str, Deployment]
    split: SmoothWeighted
    mirror: tuple[str, Share] | None = None

    @property
    def name(self) -> str:
        return self.config.name


@dataclass
class RouterState:
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def deployments(self) -> list[Deployment]:
        return [d for e in self.endpoints.values() for d in e.deployments.values()]


def build(config: RouterConfig, previous: RouterState | None = None) -> RouterState:
    """The state for `config`, reusing what `previous` had for the same endpoints, deployments, replicas."""
    state = RouterState()
    for name, econf in config.endpoints.items():
        old = previous.endpoints.get(name) if previous else None
        deployments = {}
        for dname, dconf in econf.deployments.items():
            kept = old.deployments.get(dname) if old else None
            if kept is not None:
                replicas = {r.url: r for r in kept.replicas}
                for gone in set(replicas) - set(dconf.replicas):
                    replicas[gone].removed = True
                kept.config = dconf
                kept.replicas = [replicas.get(url) or Replica(url) for url in dconf.replicas]
                deployments[dname] = kept
            else:
                deployments[dname] = Deployment(name, dconf, {})
        same_split = old is not None and dict(old.config.traffic) == dict(econf.traffic)
        split = old.split if same_split and old is not None else SmoothWeighted(econf.traffic)
        mirror = None
        for target, percent in econf.mirror_traffic.items():
            if percent > 0 and target in deployments:
                mirror = (target, Share(percent))
        state.endpoints[name] = Endpoint(econf, deployments, split, mirror)
    if previous is not None:  # replicas of deployments that are gone: close their pooled connections
        alive = {id(d) for d in state.deployments()}
        for deployment in previous.deployments():
            if id(deployment) not in alive:
                for replica in deployment.replicas:
                    replica.removed = True
    return state
