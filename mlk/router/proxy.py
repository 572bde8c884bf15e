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
_SPECIAL = {b"authorization", b"x-request-id", b"azureml-model-deployment", b"expect"}
_SPECIAL_LENGTHS = {len(name) for name in _SPECIAL}
_MAX_WAITING = 8
_CONTENT_LENGTH_SIZE = len(b"content-length")
_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Payload Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


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
        self.out: list[bytes] = []
        self.special: dict[bytes, bytes] = {}
        self.to_start: Exchange | None = None
        self.deferred: bytes | None = None
        """The router's own answer (400, 408, 413 …) to a request behind others still being answered: sent,
        and the connection closed, once they are."""

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
        self.waiting.clear()
        if self.current is not None:
            self.current.cancel()  # nobody will read the answer

    def write(self, data: bytes) -> None:
        """Queue bytes for the client; `flush` sends them in one write (one system call per batch)."""
        if not self.gone:
            self.out.append(data)

    def flush(self) -> None:
        if self.out:
            data = self.out[0] if len(self.out) == 1 else b"".join(self.out)
            self.out = []
            if self.transport is not None and not self.gone:
                self.transport.write(data)

    def abort(self) -> None:
        """The answer cannot be completed (it was under way), or it was the last: flush and close."""
        self.flush()
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
        if self.gone or self.deferred is not None:
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
            if isinstance(cause, _Reject):
                self._reject(cause.status, cause.message)
            else:
                self._reject(400, b"malformed HTTP request")
        # Started only now, so the body that came with the headers leaves in the same write as they do.
        exchange, self.to_start = self.to_start, None
        if exchange is not None and not self.gone:
            self._start(exchange)
        self.flush()

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.special = {}
        self.header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.header_bytes += len(url)
        if self.header_bytes > self.limits.max_header_bytes:
            raise _Reject(414, b"the request target is too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.limits.max_header_bytes:
            raise _Reject(431, b"the request headers are too large")
        self.headers.append((name, value))
        is_length = len(name) == _CONTENT_LENGTH_SIZE and name.lower() == b"content-length" and value.isdigit()
        if is_length and int(value) > self.limits.max_body_bytes:
            raise _Reject(413, self._too_large)
        if len(name) in _SPECIAL_LENGTHS:
            lowered = name.lower()
            if lowered in _SPECIAL:
                self.special[lowered] = value

    def on_headers_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive() and not self.connections.draining
        exchange = Exchange(
            self.router,
            self,
            self.parser.get_method().decode("ascii"),
            self.url,
            self.headers,
            keep_alive,
            self.special,
        )
        self.receiving = exchange
        if self.current is None:
            self.current = self.to_start = exchange
        else:
            self.waiting.append(exchange)
            if len(self.waiting) >= _MAX_WAITING:
                self.set_reading(False)

    def on_body(self, body: bytes) -> None:
        if self.receiving is not None:
            if self.receiving.body_size + len(body) > self.limits.max_body_bytes:
                raise _Reject(413, self._too_large)  # a chunked body that grew past the limit
            self.receiving.feed(body)

    def on_message_complete(self) -> None:
        self.reading = False
        if self.receiving is not None:
            self.receiving.end()
            self.receiving = None

    # --- exchanges --------------------------------------------------------------------------------------
    def _start(self, exchange: Exchange) -> None:
        self.current = exchange
        expect = exchange.special.get(b"expect")
        if expect is not None and expect.lower() == b"100-continue":
            self.write(_CONTINUE)
        exchange.start()

    def exchange_done(self, exchange: Exchange) -> None:
        if exchange is not self.current:
            return
        self.current = None
        if not exchange.keep_alive:
            self.abort()
            return
        if self.waiting:
            if len(self.waiting) < _MAX_WAITING // 2 and self.deferred is None:
                self.set_reading(True)
            self._start(self.waiting.popleft())
            self.flush()
        elif self.deferred is not None:
            self.flush()  # the answers before it first
            self._answer_deferred()
        elif not self.reading:
            self.deadline = time.monotonic() + self.limits.keep_alive_timeout

    @property
    def _too_large(self) -> bytes:
        return b"the request body is larger than %d bytes" % self.limits.max_body_bytes

    def _answer_deferred(self) -> None:
        assert self.deferred is not None
        self.write(self.deferred)
        self.abort()

    def _reject(self, status: int, message: bytes) -> None:
        """Answer a request that will not be read further, and close. One already being answered (its
        status line is out) or forwarded is ended: the replica's connection closes, the client's too. One
        that comes after requests still being answered is answered after them: answers go in order."""
        self.reading = False
        body = b'{"message": "%s"}' % message
        answer = (
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (
                status,
                _REASONS[status],
                len(body),
                body,
            )
        )
        exchange, self.receiving = self.receiving, None
        if exchange is not None and exchange.responded:  # its status line is out (or all of it, a 401 say)
            self.abort()  # no second answer
            return
        if exchange is not None and exchange is self.current:  # the first unanswered: answered now
            exchange.status = status
            exchange.cancel()
        else:
            if exchange is not None and exchange in self.waiting:  # a pipelined one, not started: never will be
                self.waiting.remove(exchange)
            if self.current is not None or self.waiting:  # earlier requests are still being answered
                self.deferred = answer
                self.set_reading(False)
                return
        self.out = []
        if self.transport is not None and not self.gone:
            self.transport.write(answer)
        self.abort()


class _Reject(Exception):
    """Raised from a parser callback: httptools re-raises it wrapped, so the status travels in it."""

    def __init__(self, status: int, message: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.message = message
