"""The client side of the router: parse requests with httptools and hand each to an Exchange.

Requests on one connection are answered in order: a pipelined request waits (its body buffered) until the
one before it is answered; reading pauses at Limits.max_pipelined waiting. What a client may send, the
answers to what it may not (mlk.http.limits), 100 Continue and the slow-client deadlines are mlk.http's
protocol's exactly (tests/http runs one suite against both); the server's one-second sweep checks the
deadlines.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import httptools

from mlk.http.head import CONTINUE
from mlk.http.limits import Limits, Reject, RequestMeter, feed
from mlk.http.protocol import ConnectionSet
from mlk.router.exchange import Exchange
from mlk.router.seams import Routing

_SPECIAL = {b"authorization", b"x-request-id", b"azureml-model-deployment"}
_SPECIAL_LENGTHS = {len(name) for name in _SPECIAL}


class ClientProtocol(asyncio.Protocol):
    def __init__(self, router: Routing, limits: Limits, connections: ConnectionSet) -> None:
        self.router = router
        self.limits = limits
        self.connections = connections
        self.parser = httptools.HttpRequestParser(self)
        self.meter = RequestMeter(limits)
        self.transport: asyncio.Transport | None = None
        self.current: Exchange | None = None
        self.receiving: Exchange | None = None
        self.waiting: deque[Exchange] = deque()
        self.gone = False
        self.reading = False
        self.paused = False
        self.backlogged = False
        """Reading paused because max_pipelined requests wait: an exchange's wish to read does not resume
        it, only their answers do."""
        self.deadline = time.monotonic() + limits.keep_alive_timeout
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.out: list[bytes] = []
        self.special: dict[bytes, bytes] = {}
        self.to_start: Exchange | None = None
        self.deferred: Reject | None = None
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
        if on and self.paused and not self.backlogged and self.deferred is None:
            self.paused = False
            self.transport.resume_reading()
            if self.reading:  # the router held the client back: its time to send the rest starts again
                self.deadline = max(self.deadline, time.monotonic() + self.limits.request_read_timeout)
        elif not on and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def pause_writing(self) -> None:  # the client reads slower than the replica answers
        if self.current is not None:
            self.current.client_writable(False)

    def resume_writing(self) -> None:
        if self.current is not None:
            self.current.client_writable(True)

    def check_deadline(self, now: float) -> None:
        """As mlk.http's protocol: a request not read in time is 408, an idle connection closes, an answer
        under way is never cut (request_timeout_ms bounds it). Unlike there, the request being read may be
        the one being answered (its body streams to the replica): the client is late all the same, unless
        the router itself holds reading back."""
        answering = self.current is not None and self.current is not self.receiving
        if now < self.deadline or answering or (self.reading and self.paused):
            return
        if self.reading:
            self._reject(Reject(408, "the request was not received in time"))
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
        rejected = feed(self.parser, data)
        if rejected is not None:
            self._reject(rejected)
        # Started only now, so the body that came with the headers leaves in the same write as they do.
        exchange, self.to_start = self.to_start, None
        if exchange is not None and not self.gone:
            self._start(exchange)
        self.flush()

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.special = {}
        self.meter.begin()

    def on_url(self, url: bytes) -> None:
        self.meter.url(url)
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.meter.header(name, value)
        self.headers.append((name, value))
        if len(name) in _SPECIAL_LENGTHS:
            lowered = name.lower()
            if lowered in _SPECIAL:
                self.special[lowered] = value

    def on_headers_complete(self) -> None:
        self.meter.headers_done()
        keep_alive = self.parser.should_keep_alive() and not self.connections.draining
        exchange = Exchange(
            self.router,
            self,
            self.parser.get_method().decode("ascii"),
            self.url,
            self.headers,
            keep_alive,
            self.special,
            http10=self.parser.get_http_version() == "1.0",
        )
        exchange.continue_owed = self.meter.expects_continue
        self.receiving = exchange
        if self.current is None:
            self.current = self.to_start = exchange
        else:
            self.waiting.append(exchange)
            if len(self.waiting) >= self.limits.max_pipelined:
                self.set_reading(False)
                self.backlogged = True

    def on_body(self, body: bytes) -> None:
        self.meter.body(len(body))  # a chunked body that grows past the limit, whatever became of the request
        if self.receiving is not None:
            self.receiving.continue_owed = False  # the client did not wait for it
            self.receiving.feed(body)

    def on_message_complete(self) -> None:
        self.reading = False
        if self.receiving is not None:
            self.receiving.continue_owed = False
            self.receiving.end()
            self.receiving = None

    # --- exchanges --------------------------------------------------------------------------------------
    def _start(self, exchange: Exchange) -> None:
        self.current = exchange
        if exchange.continue_owed:  # its turn has come and the client still waits to send the body
            exchange.continue_owed = False
            self.write(CONTINUE)
        exchange.start()

    def exchange_done(self, exchange: Exchange) -> None:
        if exchange is not self.current:
            return
        self.current = None
        if not exchange.keep_alive:
            self.abort()
            return
        if self.waiting:
            if len(self.waiting) < self.limits.max_pipelined // 2 and self.deferred is None:
                self.backlogged = False
                self.set_reading(True)
            self._start(self.waiting.popleft())
            self.flush()
        elif self.deferred is not None:
            self.flush()  # the answers before it first
            self._answer_deferred()
        elif not self.reading:
            self.deadline = time.monotonic() + self.limits.keep_alive_timeout

    def _answer_deferred(self) -> None:
        assert self.deferred is not None
        self.write(self.deferred.answer())
        self.abort()

    def _reject(self, rejected: Reject) -> None:
        """Answer a request that will not be read further, and close. One already being answered (its
        status line is out) or forwarded is ended: the replica's connection closes, the client's too. One
        that comes after requests still being answered is answered after them: answers go in order."""
        self.reading = False
        exchange, self.receiving = self.receiving, None
        if exchange is not None and exchange.responded:  # its status line is out (or all of it, a 401 say)
            self.abort()  # no second answer
            return
        if exchange is not None and exchange is self.current:  # the first unanswered: answered now
            exchange.status = rejected.status
            exchange.cancel()
        else:
            if exchange is not None and exchange in self.waiting:  # a pipelined one, not started: never will be
                self.waiting.remove(exchange)
            if self.current is not None or self.waiting:  # earlier requests are still being answered
                self.deferred = rejected
                self.set_reading(False)
                return
        self.out = []
        if self.transport is not None and not self.gone:
            self.transport.write(rejected.answer())
        self.abort()
