"""The HTTP/1.1 server protocol: httptools parses, this class turns bytes into Requests and Responses into bytes.

One instance per connection. Requests on a connection are answered in order (pipelining is queued, with
reading paused at Limits.max_pipelined). The app's handler returns a Response, or an awaitable of one; the
protocol never creates a task for a handler that answers at once. Limits (mlk.http.limits: header bytes,
body bytes, the same as the router's) and deadlines (slow headers, slow bodies, idle keep-alive) keep a
misbehaving client from holding memory; the deadlines are checked by the server's one-second sweep rather
than a timer per request. `Expect: 100-continue` is answered once every earlier answer is out, and only
while no byte of the body has come (as h11 does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httptools

from mlk.http import peer
from mlk.http.head import CONTINUE
from mlk.http.limits import Limits, Reject, RequestMeter, feed
from mlk.http.message import Request, Response, StreamingResponse, json_response

Handler = Callable[[Request], "Response | Awaitable[Response]"]
Observer = Callable[[Request, Response, float], None]
"""Told of each response after it was written: the request, the response, seconds since it arrived."""


class Connection(Protocol):
    """What the server's sweep and shutdown need from a connection's protocol."""

    def check_deadline(self, now: float) -> None: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class ConnectionSet:
    """The server's live connections, for the deadline sweep and for draining on shutdown."""

    connections: set[Connection] = field(default_factory=set)
    draining: bool = False

    def sweep(self) -> None:
        now = time.monotonic()
        for conn in list(self.connections):
            conn.check_deadline(now)


class HttpProtocol(asyncio.Protocol):
    def __init__(
        self, handler: Handler, limits: Limits, connections: ConnectionSet, observer: Observer | None = None
    ) -> None:
        self.handler = handler
        self.observer = observer
        self.limits = limits
        self.connections = connections
        self.parser = httptools.HttpRequestParser(self)
        self.meter = RequestMeter(limits)
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.pipeline: deque[Request] = deque()
        self.busy = False
        self.closing = False
        self.paused = False
        self._reset_message()
        self.deadline = time.monotonic() + limits.keep_alive_timeout
        self.reading = False  # inside a request (first byte seen, message not complete)
        self.streaming: asyncio.Future[None] | None = None  # the body being written, for a StreamingResponse
        self.peer_token = limits.peer_token.encode() if limits.peer_token else None
        self.deferred: Reject | None = None
        """An answer of the protocol's own (400, 408, 413 …) to a request that comes after ones still being
        answered: written, and the connection closed, once those are out — answers go in order."""
        self.continue_owed = False
        """The request being read asked for a 100 Continue and none of its body has come: sent once the
        answers before it are out."""

    # --- connection -------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio subclasses
        peer = transport.get_extra_info("peername")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
        self.connections.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.connections.discard(self)
        self.closing = True
        self.pipeline.clear()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def check_deadline(self, now: float) -> None:
        if now < self.deadline or self.busy:
            return
        if self.reading:
            self._reject(Reject(408, "the request was not received in time"))
        else:
            self.close()

    def drain(self) -> None:
        """Shutting down: close if idle, otherwise close after the response in progress."""
        if not self.busy and not self.reading:
            self.close()

    # --- parsing ----------------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if not self.reading:
            self.reading = True
            self.deadline = time.monotonic() + self.limits.request_read_timeout
        rejected = feed(self.parser, data)
        if rejected is not None:
            if not self.closing:
                self._reject(rejected)
        elif self.continue_owed and not self.busy and not self.pipeline:
            self._continue()

    def _reset_message(self) -> None:
        self.url = b""
        self.header_list: list[tuple[bytes, bytes]] = []
        self.body_parts: list[bytes] = []

    def on_message_begin(self) -> None:
        self._reset_message()
        self.meter.begin()

    def on_url(self, url: bytes) -> None:
        self.meter.url(url)
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.meter.header(name, value)
        self.header_list.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.meter.headers_done()
        self.continue_owed = self.meter.expects_continue

    def on_body(self, body: bytes) -> None:
        self.continue_owed = False  # the client did not wait for it
        self.meter.body(len(body))
        self.body_parts.append(body)

    def on_message_complete(self) -> None:
        self.reading = False
        self.continue_owed = False
        headers: dict[str, str] = {}
        for name, value in self.header_list:
            key = name.decode("latin-1")
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        target = self.url.decode("latin-1")
        path, _, query = target.partition("?")
        body = self.body_parts[0] if len(self.body_parts) == 1 else b"".join(self.body_parts)
        version = self.parser.get_http_version()
        request = Request(
            self.parser.get_method().decode("ascii"),
            target,
            path,
            query,
            headers,
            body,
            version,
            self.parser.should_keep_alive() and not self.connections.draining,
            self.client,
        )
        if self.busy:
            self.pipeline.append(request)
            if len(self.pipeline) >= self.limits.max_pipelined and self.transport is not None and not self.paused:
                self.paused = True
                self.transport.pause_reading()
            return
        self._dispatch(request)

    # --- answering --------------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> None:
        self.busy = True
        if self.peer_token is not None and not peer.admitted(self.peer_token, request.headers.get(peer.HEADER)):
            self._send(request, json_response(401, {"message": "this replica answers its router only"}))
            return
        try:
            result = self.handler(request)
        except Exception as exc:  # the app failed to build a response: never leave the client hanging
            result = _internal_error(exc)
        if isinstance(result, Response):
            self._send(request, result)
            return
        future = result if isinstance(result, asyncio.Future) else asyncio.ensure_future(result)
        future.add_done_callback(lambda f: self._send(request, _outcome(f)))

    def _send(self, request: Request, response: Response) -> None:
        if self.transport is None or self.transport.is_closing():
            if isinstance(response, StreamingResponse):
                response.stop()
            self.busy = False
            return
        keep_alive = request.keep_alive and not self.connections.draining
        if isinstance(response, StreamingResponse) and request.method != "HEAD":
            chunked = request.http_version != "1.0"  # an HTTP/1.0 client reads until the connection closes
            keep_alive = keep_alive and chunked
            framing = b"Transfer-Encoding: chunked" if chunked else None
            self.transport.write(response.encode_head(framing, keep_alive=keep_alive))
            self.streaming = asyncio.ensure_future(self._stream(request, response, keep_alive, chunked))
            return
        if isinstance(response, StreamingResponse):
            response.stop()
        self.transport.write(response.encode(keep_alive=keep_alive, head=request.method == "HEAD"))
        self._sent(request, response, keep_alive)

    async def _stream(self, request: Request, response: StreamingResponse, keep_alive: bool, chunked: bool) -> None:
        """Write the body as it is produced; a producer that fails ends the connection (the status is sent)."""
        try:
            while (chunk := await response.next_chunk()) is not None:
                if self.transport is None or self.transport.is_closing():
                    response.stop()
                    return
                if chunk:
                    self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        except Exception:
            logging.getLogger("mlk.http").exception("the response body failed while it was sent")
            self.close()
            return
        if self.transport is None or self.transport.is_closing():
            return
        if chunked:
            self.transport.write(b"0\r\n\r\n")
        self._sent(request, response, keep_alive)

    def _sent(self, request: Request, response: Response, keep_alive: bool) -> None:
        """The response is on the wire: observe it, then close, or go on with the next request."""
        assert self.transport is not None
        self.busy = False
        if self.observer is not None:
            try:
                self.observer(request, response, time.perf_counter() - request.arrived)
            except Exception:  # metrics must never break serving
                logging.getLogger("mlk.http").exception("response observer failed")
        if not keep_alive:
            self.close()
            return
        if self.pipeline:
            if self.paused and len(self.pipeline) < self.limits.max_pipelined // 2:
                self.paused = False
                self.transport.resume_reading()
            self._dispatch(self.pipeline.popleft())
        elif self.deferred is not None:
            self._answer_deferred()
        elif self.continue_owed:
            self._continue()
        elif not self.reading:
            self.deadline = time.monotonic() + self.limits.keep_alive_timeout

    def _continue(self) -> None:
        self.continue_owed = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(CONTINUE)

    def _answer_deferred(self) -> None:
        assert self.transport is not None and self.deferred is not None
        self.transport.write(self.deferred.answer())
        self.transport.close()

    def _reject(self, rejected: Reject) -> None:
        """Answer a request we will not read further, and close — after the answers to the requests before
        it, which may still be on their way."""
        self.reading = False
        self.closing = True
        self.continue_owed = False
        if self.busy or self.pipeline:
            self.deferred = rejected
            if self.transport is not None:
                self.transport.pause_reading()
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(rejected.answer())
            self.transport.close()


def _outcome(future: asyncio.Future[Any]) -> Response:
    if future.cancelled():
        return json_response(503, {"message": "the request was cancelled"})
    exc = future.exception()
    if exc is not None:
        return _internal_error(exc)
    result = future.result()
    return result if isinstance(result, Response) else _internal_error(TypeError(f"handler returned {result!r}"))


def _internal_error(exc: BaseException) -> Response:
    logging.getLogger("mlk.http").error("handler failed", exc_info=exc)
    return json_response(500, {"message": "internal server error"})
