"""Connections to replicas: one request at a time each, kept alive in a per-replica pool.

An `Upstream` parses the replica's response with httptools and streams it to whatever `Sink` sent the
request (the proxy's exchange): head, body chunks, completion, or failure — with a flag telling whether
any of the response had arrived, which decides if the request may be retried elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import httptools

from mlk.router.state import Replica

MAX_IDLE_PER_REPLICA = 64
IDLE_SECONDS = 30.0  # below mlk serve's 65 s keep-alive: the router closes idle connections first


class Sink(Protocol):
    head_only: bool

    def upstream_head(self, status: int, headers: list[tuple[bytes, bytes]], chunked: bool) -> None: ...
    def upstream_body(self, chunk: bytes) -> None: ...
    def upstream_done(self, upstream: Upstream, reusable: bool) -> None: ...
    def upstream_failed(self, exc: BaseException, responded: bool) -> None: ...
    def upstream_writable(self, writable: bool) -> None: ...
    def flush(self) -> None: ...


class Upstream(asyncio.Protocol):
    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.sink: Sink | None = None
        self.responded = False
        self.closed = False
        self.reused = False
        self.idle_since = time.monotonic()
        self._headers: list[tuple[bytes, bytes]] = []
        self._reset_parser = False

    # --- used by the proxy ------------------------------------------------------------------------------
    def send(self, sink: Sink, data: bytes) -> None:
        self.responded = False
        self._headers = []
        if self.closed or self.transport is None or self.transport.is_closing():
            # closed between connect (or the pool) and now: connection_lost has already been and gone, so
            # tell the sink here — later, not from inside its own call — that nothing was sent
            lost = ConnectionResetError("the replica closed the connection before the request was sent")
            asyncio.get_running_loop().call_soon(sink.upstream_failed, lost, False)
            return
        self.sink = sink
        self.transport.write(data)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        self.sink = None
        if self.transport is not None:
            self.transport.close()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    # --- asyncio ----------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self in self.replica.idle:
            self.replica.idle.remove(self)
        sink, self.sink = self.sink, None
        if sink is not None:
            sink.upstream_failed(exc or ConnectionResetError("the replica closed the connection"), self.responded)

    def pause_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_writable(False)

    def resume_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_writable(True)

    def data_received(self, data: bytes) -> None:
        if self.sink is None:  # bytes nobody asked for: the connection is not trustworthy any more
            self.close()
            return
        self.responded = True
        sink = self.sink
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.sink = None
            self.close()
            sink.upstream_failed(exc, True)
            return
        finally:
            sink.flush()  # head and body chunks of this read reach the client in one write
        if self._reset_parser:
            self._reset_parser = False
            self.parser = httptools.HttpResponseParser(self)

    # --- parser callbacks -------------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.sink is None:
            return
        chunked = any(n.lower() == b"transfer-encoding" and b"chunked" in v.lower() for n, v in self._headers)
        self.sink.upstream_head(self.parser.get_status_code(), self._headers, chunked)
        if self.sink is not None and self.sink.head_only:  # a HEAD response has no body, whatever it says
            self._reset_parser = True
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        if self.sink is not None:
            self.sink.upstream_body(body)

    def on_message_complete(self) -> None:
        sink, self.sink = self.sink, None
        if sink is None:
            return
        reusable = self.parser.should_keep_alive() and not self.closed
        sink.upstream_done(self, reusable)


def give_back(upstream: Upstream) -> None:
    """Return a connection that finished a request cleanly to its replica's pool."""
    replica = upstream.replica
    if upstream.closed or replica.removed or len(replica.idle) >= MAX_IDLE_PER_REPLICA:
        upstream.close()
        return
    upstream.reused = True
    upstream.idle_since = time.monotonic()
    replica.idle.append(upstream)


def take(replica: Replica) -> Upstream | None:
    while replica.idle:
        upstream = replica.idle.pop()
        if isinstance(upstream, Upstream) and not upstream.closed:
            return upstream
    return None


async def connect(replica: Replica, timeout: float) -> Upstream:
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: Upstream(replica), replica.host, replica.port), timeout
    )
    return protocol


def close_idle(replica: Replica, now: float) -> None:
    for upstream in list(replica.idle):
        if isinstance(upstream, Upstream) and now - upstream.idle_since > IDLE_SECONDS:
            replica.idle.remove(upstream)
            upstream.close()
