"""Fuzz target: the router's client side (mlk.router.proxy.ClientProtocol) in front of fake replicas.

The first byte of the input says how the rest arrives (see harness.reads); the rest is what a client sent
on one connection. Connections to replicas are fakes (no sockets): each parses what the router forwards
and answers as the request's query asks (`chunked`, `status500`, `busy`, `close`, `reset`, `garbage`,
`early`, `silent`; otherwise 200 with a Content-Length).

Invariants: nothing escapes data_received or the loop's callbacks and the router never logs a failure of
its own; every byte written to the client is a well-formed HTTP/1.1 response; every byte forwarded to a
replica is a well-formed request without the client's Authorization; header buffers stay under the limit
and reading pauses when too many requests wait; once the client is gone no replica slot stays taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from typing import Any

import httptools

from mlk.http.limits import Limits
from mlk.http.protocol import ConnectionSet
from mlk.router import upstream as pool
from mlk.router.config import DeploymentConfig, EndpointConfig, RequestSettings, RouterConfig
from mlk.router.exchange import Exchange
from mlk.router.proxy import ClientProtocol
from mlk.router.service import Router
from mlk.router.state import Replica
from mlk.router.upstream import Upstream
from tests.fuzz.harness import (
    FakeTransport,
    Violation,
    check,
    check_writes,
    event_loop,
    mark_rejects,
    reads,
    settle,
    turns,
)

LIMITS = Limits(max_header_bytes=1024, max_body_bytes=4096)
MAX_LEN = 8192
KEY = "k"
BUSY = b"HTTP/1.1 429 Too Many Requests\r\nx-mlk-busy: 1\r\nContent-Length: 0\r\n\r\n"
FAST = RequestSettings(request_timeout_ms=5000, max_concurrent_requests_per_instance=1, max_queue_wait_ms=500)
CONFIG = RouterConfig(
    {
        "ep": EndpointConfig(
            "ep",
            "key",
            (KEY, "second-key"),
            traffic={"blue": 100, "green": 0},
            mirror_traffic={"green": 50},
            deployments={
                "blue": DeploymentConfig("blue", ("http://10.0.0.1:5001", "http://10.0.0.2:5001"), FAST),
                "green": DeploymentConfig("green", ("http://10.0.0.3:5001",), FAST),
            },
        ),
        "tok": EndpointConfig(
            "tok",
            "aml_token",
            token_secret="secret",
            traffic={"d": 100},
            deployments={"d": DeploymentConfig("d", ("http://10.0.0.4:5001",))},
        ),
        "empty": EndpointConfig("empty", "key", (KEY,), deployments={"none": DeploymentConfig("none", ())}),
    }
)


class FakeReplica:
    """One connection to a replica: parses what the router sends and answers each request."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.to_answer: deque[tuple[str, bytes]] = deque()
        self.silent = False

    # the router's writes
    def received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, Violation):
                raise exc.__context__ from None
            raise Violation(f"the router sent a replica a malformed request ({exc}): {data[:200]!r}") from None

    def on_message_begin(self) -> None:
        self.url, self.headers = b"", []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        names = [n for n, _ in self.headers]
        check(names.count(b"host") == 1, f"{names.count(b'host')} Host headers forwarded")
        check(b"authorization" not in names, "the client's Authorization was forwarded to a replica")
        check(not (b"content-length" in names and b"transfer-encoding" in names), "both CL and TE forwarded")
        check(self.url.startswith(b"/"), f"forwarded target {self.url[:80]!r}")
        if b"early" in self.url:
            self.to_answer.append((self.parser.get_method().decode(), self.url))

    def on_message_complete(self) -> None:
        if b"early" not in self.url:
            self.to_answer.append((self.parser.get_method().decode(), self.url))

    # answering
    def answer(self) -> None:
        while self.to_answer and not self.upstream.closed and not self.silent:
            method, url = self.to_answer.popleft()
            query = url.partition(b"?")[2]
            body = b"" if method == "HEAD" else b"answer to " + url[:100]
            if b"silent" in query:
                self.silent = True
                return
            if b"reset" in query:
                transport: Any = self.upstream.transport  # an _UpstreamTransport
                transport.closed = True
                self.upstream.connection_lost(ConnectionResetError("reset by the replica"))
                return
            if b"garbage" in query:
                self.upstream.data_received(b"HTTP/1.1 2x0 OK\r\n\r\n")
            elif b"busy" in query:
                self.upstream.data_received(BUSY)
            elif b"chunked" in query:
                chunks = b"" if method == "HEAD" else b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
                self.upstream.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
            else:
                status = b"500 Internal Server Error" if b"status500" in query else b"200 OK"
                close = b"Connection: close\r\n" if b"close" in query else b""
                self.upstream.data_received(
                    b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\nx-replica: 1\r\n\r\n%s"
                    % (status, close, len(b"answer to " + url[:100]), body)
                )


class _UpstreamTransport(FakeTransport):
    def __init__(self, loop: asyncio.AbstractEventLoop, replica: FakeReplica) -> None:
        super().__init__(loop)
        self.replica = replica

    def write(self, data: bytes) -> None:
        check(not self.closed, "the router wrote to a replica connection it had closed")
        self.replica.received(bytes(data))


@contextlib.contextmanager
def _fake_connections(loop: asyncio.AbstractEventLoop, replicas: list[FakeReplica]) -> Iterator[None]:
    """mlk.router.upstream.connect opens fake connections while the input runs."""

    async def connect(replica: Replica, timeout: float) -> Upstream:
        await asyncio.sleep(0)
        upstream = Upstream(replica)
        fake = FakeReplica(upstream)
        transport = _UpstreamTransport(loop, fake)
        transport.attach(upstream)
        replicas.append(fake)
        return upstream

    real = pool.connect
    pool.connect = connect
    try:
        yield
    finally:
        pool.connect = real


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    chunks, between = reads(data[0], data[1:])
    replicas: list[FakeReplica] = []
    taken: list[Exchange] = []
    failures: list[str] = []
    with event_loop() as (loop, errors), _fake_connections(loop, replicas):
        router = Router(loop, CONFIG, access_log=False)
        real_handle = router.handle

        def handle(ex: Exchange) -> None:
            taken.append(ex)
            real_handle(ex)

        def log_failure(ex: Exchange, exc: BaseException) -> None:
            failures.append(f"{type(exc).__name__}: {exc}")

        router.handle = handle  # type: ignore[method-assign]
        router.log_failure = log_failure  # type: ignore[method-assign]
        connections = ConnectionSet()
        client = ClientProtocol(router, LIMITS, connections)
        transport = FakeTransport(loop)
        transport.attach(client)
        mark_rejects(client, transport)

        async def answer_all() -> None:
            for _ in range(20):
                await settle(loop)
                waiting = [r for r in replicas if r.to_answer and not r.upstream.closed and not r.silent]
                if not waiting:
                    return
                for replica in waiting:
                    replica.answer()

        async def run() -> None:
            queue = deque(chunks)
            while queue and not transport.closed:
                if transport.paused:
                    await answer_all()
                    check(not transport.stalled() or client.busy, "reading paused for good")
                    if transport.stalled():
                        break  # a request the replica never answers holds the connection: the client gives up
                    continue
                client.data_received(queue.popleft())
                _bounded(client)
                await turns(between)
                await answer_all()
            await answer_all()
            client.check_deadline(float("inf"))
            await answer_all()
            if not transport.closed:
                transport.close()
            await settle(loop)

        loop.run_until_complete(run())
        check(not failures, f"the router failed on a request: {failures}")
        _released(router)
    check(not errors, f"the loop's exception handler was called: {errors}")
    # The answers owed, in order: every request the router took and answered itself. One it took whose body
    # then turned out malformed or too large is answered by the reject (written as rejecting) instead; which
    # of the two happened is known only at the end (the order of events varies with the loop's timing).
    check_writes(transport, deque(ex.method for ex in taken if ex.responded))


def _bounded(client: ClientProtocol) -> None:
    if client.gone:
        return
    check(client.meter.header_bytes <= LIMITS.max_header_bytes, f"{client.meter.header_bytes} header bytes buffered")
    waiting = len(client.waiting)
    check(waiting < LIMITS.max_pipelined or client.paused, f"{waiting} requests waiting, still reading")
    check(not client.out, "bytes left queued for the client after data_received")


def _released(router: Router) -> None:
    """The client is gone: no exchange is in flight and every replica slot was given back."""
    check(not router.in_flight, f"{len(router.in_flight)} exchanges still in flight")
    for deployment in router.state.deployments():
        check(deployment.in_flight == 0, f"deployment {deployment.name} holds {deployment.in_flight} slots")
        for replica in deployment.replicas:
            check(replica.in_flight == 0, f"replica {replica.url} holds {replica.in_flight} slots")
        check(not [w for w in deployment.waiters if not w.future.done()], f"{deployment.name} has waiters")
