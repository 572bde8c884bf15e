"""The HTTP/1.1 server protocol: httptools parses, this class turns bytes into Requests and Responses into bytes.

One instance per connection. Requests on a connection are answered in order (pipelining is queued, with
reading paused when the queue grows). The app's handler returns a Response, or an awaitable of one; the
protocol never creates a task for a handler that answers at once. Limits (header bytes, body bytes) and
deadlines (slow headers, slow bodies, idle keep-alive) keep a misbehaving client from holding memory; the
deadlines are checked by the server's one-second sweep rather than a timer per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httptools

from mlk.http import peer
from mlk.http.message import Request, Response, StreamingResponse, json_response

Handler = Callable[[Request], "Response | Awaitable[Response]"]
Observer = Callable[[Request, Response, float], None]
"""Told of each response after it was written: the request, the response, seconds since it arrived."""

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_PIPELINE_PAUSE = 16


DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
"""azmlinfsrv's body limit: `mlk serve` and the router answer 413 above it."""


@dataclass
class Limits:
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    request_read_timeout: float = 60.0
    """Seconds from a request's first byte to its last (slow headers or bodies get 408)."""
    keep_alive_timeout: float = 65.0
    """Seconds an idle connection stays open (longer than common proxies' 60 s, so they close first)."""
    max_connections: int = 4096
    """Open client connections at most (also bounded by the file-descriptor limit); more get a 503 and are
    closed at once, and the listener goes on accepting."""

    peer_token: str | None = None
    """mlk.http.peer: requests without this token get 401 before any handler sees them."""

    @classmethod
    def given(cls, **values: int | None) -> Limits:
        """The defaults, but for the values a flag set (None: not given)."""
        given: dict[str, Any] = {name: value for name, value in values.items() if value is not None}
        return dataclasses.replace(cls(), **given)


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
        self.deferred: Response | None = None
        """An answer of the protocol's own (400, 408, 413 …) to a request that comes after ones still being
        answered: written, and the connection closed, once those are out — answers go in order."""
        self.continue_owed = False
        """A 100 Continue for the request being read, held back while earlier answers are still going out."""

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
            self._reject(408, "the request was not received in time")
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
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Reject):
                self._reject(cause.status, cause.message)
            elif not self.closing:
                self._reject(400, f"malformed HTTP request: {exc}")

    def _reset_message(self) -> None:
        self.url = b""
        self.header_list: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.body_parts: list[bytes] = []
        self.body_bytes = 0

    def on_message_begin(self) -> None:
        self._reset_message()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.header_bytes += len(url)
        if self.header_bytes > self.limits.max_header_bytes:
            raise _Reject(414, "the request target is too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.limits.max_header_bytes:
            raise _Reject(431, "the request headers are too large")
        self.header_list.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        for name, value in self.header_list:
            if name == b"content-length" and value.isdigit() and int(value) > self.limits.max_body_bytes:
                raise _Reject(413, f"the request body is larger than {self.limits.max_body_bytes} bytes")
            if name == b"expect" and value.lower() == b"100-continue" and self.transport is not None:
                if self.busy or self.pipeline:
                    self.continue_owed = True  # not into the middle of an earlier answer
                else:
                    self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > self.limits.max_body_bytes:
            raise _Reject(413, f"the request body is larger than {self.limits.max_body_bytes} bytes")
        self.body_parts.append(body)

    def on_message_complete(self) -> None:
        self.reading = False
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
            if len(self.pipeline) >= _PIPELINE_PAUSE and self.transport is not None and not self.paused:
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
            framing = "Transfer-Encoding: chunked" if chunked else None
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
            if self.paused and len(self.pipeline) < _PIPELINE_PAUSE // 2:
                self.paused = False
                self.transport.resume_reading()
            self._dispatch(self.pipeline.popleft())
        elif self.deferred is not None:
            self._answer_deferred()
        elif self.continue_owed:
            self.continue_owed = False
            self.transport.write(_CONTINUE)
        elif not self.reading:
            self.deadline = time.monotonic() + self.limits.keep_alive_timeout

    def _answer_deferred(self) -> None:
        assert self.transport is not None and self.deferred is not None
        self.transport.write(self.deferred.encode(keep_alive=False))
        self.transport.close()

    def _reject(self, status: int, message: str) -> None:
        """Answer a request we will not read further, and close — after the answers to the requests before
        it, which may still be on their way."""
        self.reading = False
        self.closing = True
        answer = json_response(status, {"message": message})
        if self.busy or self.pipeline:
            self.deferred = answer
            if self.transport is not None:
                self.transport.pause_reading()
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer.encode(keep_alive=False))
            self.transport.close()


class _Reject(Exception):
    """Raised from a parser callback: httptools re-raises it wrapped, so the status travels in the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


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
