"""The client side of the router: parse requests with httptools and hand each to an Exchange.

Requests on one connection are answered in order: a pipelined request waits (its body buffered) until the
one before it is answered; reading pauses when too many wait. Header size and slow-client deadlines are
enforced as in mlk.http; the server's one-second sweep checks the deadlines.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

import httptools

from mlk.http.protocol import ConnectionSet, Limits
from mlk.router.exchange import Exchange

if TYPE_CHECKING:
    from mlk.router.service import Router

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_MAX_WAITING = 8


class ClientProtocol(asyncio.Protocol):
    def __init__(self, router: Router, limits: Limits, connections: ConnectionSet) -> None:
        self.router = router
        self.limits = limits
        self.connections = connections
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.current: Exchange | None = None
        self.receiving: Exchange | None = None
        self.waiting: deque[Exchange] = deque()
        self.gone = False
        self.reading = False
        self.paused = False
        self.deadline = time.monotonic() + limits.keep_alive_timeout
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0

    @property
    def busy(self) -> bool:
        return self.current is not None

    # --- connection -------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.connections.connections.discard(self)
        for exchange in (self.current, *self.waiting):
            if exchange is not None and exchange.upstream is not None:
                exchange.upstream.close()  # nobody will read the answer
        self.waiting.clear()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.gone:
            self.transport.write(data)

    def abort(self) -> None:
        """The answer cannot be completed (it was under way): drop the connection."""
        self.gone = True
        if self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        self.abort()

    def set_reading(self, on: bool) -> None:
        if self.transport is None or self.gone:
            return
        if on and self.paused:
            self.paused = False
            self.transport.resume_reading()
        elif not on and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def pause_writing(self) -> None:  # the client reads slower than the replica answers
        if self.current is not None and self.current.upstream is not None:
            self.current.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.current is not None and self.current.upstream is not None:
            self.current.upstream.resume_reading()

    def check_deadline(self, now: float) -> None:
        if now < self.deadline or self.busy:
            return
        if self.reading:
            self._reject(408, b"the request was not received in time")
        else:
            self.abort()

    def drain(self) -> None:
        if not self.busy and not self.reading:
            self.abort()

    # --- parsing ----------------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.gone:
            return
        if not self.reading:
            self.reading = True
            self.deadline = time.monotonic() + self.limits.request_read_timeout
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(400, b"protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _TooLarge):
                self._reject(431, b"the request headers are too large")
            else:
                self._reject(400, b"malformed HTTP request")

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.header_bytes += len(url)
        if self.header_bytes > self.limits.max_header_bytes:
            raise _TooLarge()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.limits.max_header_bytes:
            raise _TooLarge()
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive() and not self.connections.draining
        exchange = Exchange(
            self.router, self, self.parser.get_method().decode("ascii"), self.url, self.headers, keep_alive
        )
        self.receiving = exchange
        if self.current is None:
            self._start(exchange)
        else:
            self.waiting.append(exchange)
            if len(self.waiting) >= _MAX_WAITING:
                self.set_reading(False)

    def on_body(self, body: bytes) -> None:
        if self.receiving is not None:
            self.receiving.feed(body)

    def on_message_complete(self) -> None:
        self.reading = False
        if self.receiving is not None:
            self.receiving.end()
            self.receiving = None

    # --- exchanges --------------------------------------------------------------------------------------
    def _start(self, exchange: Exchange) -> None:
        self.current = exchange
        for name, value in exchange.headers:
            if name.lower() == b"expect" and value.lower() == b"100-continue":
                self.write(_CONTINUE)
        self.router.loop.create_task(exchange.run())

    def exchange_done(self, exchange: Exchange) -> None:
        if exchange is not self.current:
            return
        self.current = None
        if not exchange.keep_alive:
            self.abort()
            return
        if self.waiting:
            if len(self.waiting) < _MAX_WAITING // 2:
                self.set_reading(True)
            self._start(self.waiting.popleft())
        elif not self.reading:
            self.deadline = time.monotonic() + self.limits.keep_alive_timeout

    def _reject(self, status: int, message: bytes) -> None:
        self.reading = False
        if self.transport is not None and not self.gone:
            body = b'{"message": "%s"}' % message
            self.transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s"
                % (
                    status,
                    {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status],
                    len(body),
                    body,
                )
            )
        self.abort()


class _TooLarge(Exception):
    pass
