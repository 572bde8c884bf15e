"""The router's decisions for each request: which endpoint, who may call it, which deployment and replica.

Scoring URI: /api/v1/endpoint/<endpoint>/score (and .../swagger.json). Answers the router makes itself:
401 (auth), 404 (unknown endpoint or deployment, or no deployment with traffic), 429 (queue wait exceeded
or the deployment's overall limit reached), 502 (replica crashed or unreachable), 503 (no replica in
rotation), 504 (request_timeout_ms). /healthz and /metrics are the router's own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from mlk.http import peer
from mlk.http.logbuffer import MAX_LOGGED, LineBuffer, Throttle, shorten
from mlk.http.metrics import CONTENT_TYPE
from mlk.router import auth, mirror
from mlk.router.config import RouterConfig
from mlk.router.exchange import UNKNOWN, Exchange
from mlk.router.ids import request_id
from mlk.router.metrics import RouterMetrics
from mlk.router.state import Deployment, QueueTimeout, Replica, RouterState, build

log = logging.getLogger("mlk.router")
PREFIX = b"/api/v1/endpoint/"
PROBE_SECONDS = 1.0
REFUSALS = frozenset({401, 404})
"""The router's own answers that a client can provoke at will: their log lines are throttled."""
SHOWN_NAME = 64


class Router:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        config: RouterConfig,
        access_log: bool = True,
        peer_token: str | None = None,
    ) -> None:
        self.loop = loop
        self.peer_header = peer.header_line(peer_token)
        """Sent with every request to a replica (mlk.http.peer): the embedded default's replicas want it."""
        self.state = RouterState()
        self.metrics = RouterMetrics(lambda: self.state)
        self.access = LineBuffer("mlk.router", access_log)
        self.refusals = Throttle()
        self.background: set[asyncio.Task[None]] = set()
        self.in_flight: set[Exchange] = set()
        self.reload(config)

    def reload(self, config: RouterConfig) -> None:
        """Swap in a new configuration; requests in flight finish on the objects they hold."""
        self.state = build(config, self.state)
        for deployment in self.state.deployments():
            deployment.dispatch_waiters()
        log.info(
            "configuration loaded: %s",
            ", ".join(
                f"{e.name}({', '.join(f'{d}={w}' for d, w in e.config.traffic.items()) or 'no traffic'})"
                for e in self.state.endpoints.values()
            )
            or "no endpoints",
        )

    # --- what an exchange asks of the router (seams.Routing) ---------------------------------------------
    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        self.loop.call_later(delay, callback)

    def forwarding(self, ex: Exchange) -> None:
        self.in_flight.add(ex)

    def counted(self, ex: Exchange, event: Literal["retry", "busy"]) -> None:
        counter = self.metrics.retries if event == "retry" else self.metrics.busy
        counter.inc((ex.endpoint, ex.deployment.name if ex.deployment else UNKNOWN))

    # --- per request ------------------------------------------------------------------------------------
    def handle(self, ex: Exchange) -> None:
        """Route `ex`: answer it, or start forwarding it (queueing first when every replica is busy)."""
        path, _, query = ex.target.partition(b"?")
        given_id = ex.special.get(b"x-request-id")
        ex.request_id = given_id[:MAX_LOGGED].decode("latin-1") if given_id else request_id()
        if not path.startswith(PREFIX):
            if path == b"/healthz":
                return ex.respond(200, b"ok", b"text/plain")
            if path == b"/metrics":
                return ex.respond(200, self.metrics.registry.render(), CONTENT_TYPE.encode())
            return ex.fail(404, "no such route: scoring URIs are /api/v1/endpoint/<endpoint>/score")
        name, _, tail = path[len(PREFIX) :].partition(b"/")
        asked = name.decode("latin-1")
        endpoint = self.state.endpoints.get(asked) or self.state.endpoints.get(asked.lower())
        if endpoint is None:
            return ex.fail(404, f"endpoint '{shorten(asked, SHOWN_NAME)}' not found")
        ex.endpoint = endpoint.name
        if not auth.authorized(endpoint.config, ex.special.get(b"authorization")):
            return ex.fail(401, "unauthorized: send Authorization: Bearer <key or token>")
        if tail not in {b"score", b"swagger.json"}:
            return ex.fail(404, f"no such route under endpoint '{ex.endpoint}': use .../score or .../swagger.json")
        pinned = ex.special.get(b"azureml-model-deployment")
        chosen = pinned.decode("latin-1") if pinned else endpoint.split.pick()
        if chosen is None:
            return ex.fail(
                404,
                f"endpoint '{ex.endpoint}' has no deployment with traffic; set traffic or pin one "
                "with the azureml-model-deployment header",
            )
        deployment = endpoint.deployments.get(chosen) or endpoint.deployments.get(chosen.lower())
        if deployment is None:
            return ex.fail(404, f"deployment '{shorten(chosen, SHOWN_NAME)}' not found in endpoint '{ex.endpoint}'")
        ex.deployment = deployment
        if deployment.in_flight + len(deployment.waiters) >= deployment.cap:
            if not any(r.healthy for r in deployment.replicas):
                return ex.fail(503, f"deployment '{chosen}' has no replica in rotation")
            return ex.fail(429, f"deployment '{chosen}' is at capacity; retry later")
        target = endpoint.mirror
        if target is not None and not pinned and target[0] != chosen and target[1].take():
            ex.mirror_to = endpoint.deployments.get(target[0])
        upstream_path = b"/" + tail + (b"?" + query if query else b"")
        replica = deployment.try_acquire()
        if replica is not None:
            return ex.go(deployment, replica, upstream_path)
        if not any(r.healthy for r in deployment.replicas):
            return ex.fail(503, f"deployment '{chosen}' has no replica in rotation")
        self.spawn(self._queued(ex, deployment, upstream_path))
        return None

    def requeue(self, ex: Exchange, failed: Replica, why: str) -> bool:
        """`ex`'s replica failed before it took the request (refused, reset, closed): wait for a slot in the
        deployment's queue for what is left of max_queue_wait_ms, as a request that found every replica
        busy does, rather than answer 502 while the replica leaves the configuration. False when no time
        is left."""
        deployment = ex.deployment
        assert deployment is not None
        left = deployment.config.settings.max_queue_wait_ms / 1000 - (time.perf_counter() - ex.started)
        if left <= 0 or not any(r.healthy for r in deployment.replicas):
            return False
        ex.replica = None
        deployment.release(failed)
        self.in_flight.discard(ex)  # the queue's own timer bounds it meanwhile, not request_timeout_ms
        failure = (502, f"the deployment's replica failed: {why}")
        self.spawn(self._queued(ex, deployment, ex.path, left, failure, avoid=failed))
        return True

    async def _queued(
        self,
        ex: Exchange,
        deployment: Deployment,
        path: bytes,
        seconds: float | None = None,
        expired: tuple[int, str] | None = None,
        avoid: Replica | None = None,
    ) -> None:
        wait = deployment.config.settings.max_queue_wait_ms / 1000 if seconds is None else seconds
        future = deployment.enqueue(self.loop, wait, avoid)
        deployment.dispatch_waiters()  # a slot may have come free since the caller found none
        timer = self.loop.call_later(wait, _expire, future)
        try:
            replica = await future
        except QueueTimeout:
            ex.fail(*(expired or (429, f"no replica of '{deployment.name}' freed up within max_queue_wait_ms")))
            return
        finally:
            timer.cancel()
        if ex.client.gone:
            deployment.release(replica)
            return
        ex.go(deployment, replica, path)

    def finished(self, ex: Exchange) -> None:
        """Count and log a settled exchange; send its mirror copy now that the client has its answer."""
        self.in_flight.discard(ex)
        seconds = time.perf_counter() - ex.started
        deployment = ex.deployment.name if ex.deployment else UNKNOWN
        self.metrics.observe(ex.endpoint, deployment, ex.status, seconds)
        if self.access.enabled:
            written, left_out = (True, 0) if ex.status not in REFUSALS else self.refusals.admit(time.time())
            if written:
                replica = ex.replica.url if ex.replica else UNKNOWN
                self.access.info(
                    f"{ex.request_id} {ex.endpoint}/{deployment} {replica} {ex.method} {ex.status} "
                    f"{seconds * 1000:.3f}ms {ex.sent_bytes}"
                    + (f" ({left_out} more 401/404 lines left out)" if left_out else "")
                )
        if ex.mirror_to is not None and ex.status and not ex.client.gone:
            self.spawn(mirror.send_copy(self, ex, ex.mirror_to, ex.path))

    async def sweep_timeouts(self) -> None:
        """request_timeout_ms for every exchange in flight, checked every 20 ms (and the count of throttled
        log lines, once their second is over)."""
        while True:
            await asyncio.sleep(0.02)
            if self.in_flight:
                now = time.perf_counter()
                for ex in [e for e in self.in_flight if e.deadline <= now]:
                    ex.timed_out()
            left_out = self.refusals.overdue(time.time())
            if left_out and self.access.enabled:
                self.access.info(f"{left_out} more 401/404 lines left out")

    def log_failure(self, ex: Exchange, exc: BaseException) -> None:
        log.error("request %s failed in the router", ex.request_id, exc_info=exc)

    # --- replica health ---------------------------------------------------------------------------------
    def eject(self, replica: Replica) -> None:
        for deployment in self.state.deployments():
            if replica in deployment.replicas:
                self.metrics.ejections.inc((deployment.endpoint, deployment.name))
        log.warning(
            "replica %s failed %s times in a row: out of rotation until GET / answers 200",
            replica.url,
            replica.failures,
        )
        if not replica.probing:
            replica.probing = True
            self.spawn(self._probe(replica))

    async def _probe(self, replica: Replica) -> None:
        try:
            while not replica.healthy and not replica.removed:
                await asyncio.sleep(PROBE_SECONDS)
                if await probe(replica, peer_header=self.peer_header):
                    replica.healthy, replica.failures = True, 0
                    log.info("replica %s answers again: back in rotation", replica.url)
                    for deployment in self.state.deployments():
                        deployment.dispatch_waiters()
        finally:
            replica.probing = False


def _expire(future: asyncio.Future[Replica]) -> None:
    if not future.done():
        future.set_exception(QueueTimeout())


async def probe(replica: Replica, timeout: float = 2.0, peer_header: bytes = b"") -> bool:
    """GET / on the replica: True for a 200."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(replica.host, replica.port), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n" % (replica.host_header, peer_header))
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        return status_line.split(b" ")[1:2] == [b"200"]
    except (OSError, TimeoutError, IndexError):
        return False
    finally:
        writer.close()
