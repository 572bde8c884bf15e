"""The limits `mlk serve` and the router put on what a client sends, and the one meter that applies them.

Both protocols parse with httptools and call the same `RequestMeter` from their parser callbacks, so a
request gets the same answer from either. The statuses are the ones uvicorn (h11) and nginx give:

    request target past max_header_bytes                 414 URI Too Long
    target and headers together past max_header_bytes    431 Request Header Fields Too Large
    Content-Length past max_body_bytes                   413, before any body is read (no 100 Continue)
    body read past max_body_bytes (chunked)              413, at the chunk that crosses the limit
    anything httptools cannot parse, or an Upgrade       400

Each is raised as `Reject` from inside a callback; `feed` finds it behind httptools' wrapping.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import httptools

from mlk.http.message import json_response

DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
"""azmlinfsrv's body limit: `mlk serve` and the router answer 413 above it."""
MAX_PIPELINED = 8
"""Requests read ahead of the one being answered on a connection: reading pauses at this many and resumes
below half. In `mlk serve` each holds its whole body, so this bounds what one connection can make a worker
hold; clients that pipeline at all rarely have more than a few requests out."""
_CONTENT_LENGTH = b"content-length"
_EXPECT = b"expect"


@dataclass
class Limits:
    max_header_bytes: int = 64 * 1024
    """The request line's target and the header fields together (names, values and separators)."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_pipelined: int = MAX_PIPELINED
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


class Reject(Exception):
    """A request that will not be read further: the status and message to answer it with (then close)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message

    def answer(self) -> bytes:
        """The response to write before closing."""
        return json_response(self.status, {"message": self.message}).encode(keep_alive=False)


class RequestMeter:
    """Measures the request being parsed against the limits; one per connection, reset by `begin`."""

    __slots__ = ("body_bytes", "declared", "expects_continue", "header_bytes", "max_body", "max_head")

    def __init__(self, limits: Limits) -> None:
        self.max_head = limits.max_header_bytes  # read once: these run for every header of every request
        self.max_body = limits.max_body_bytes
        self.begin()

    def begin(self) -> None:
        self.header_bytes = 0
        self.body_bytes = 0
        self.declared = b""
        """The Content-Length as sent ('' without one)."""
        self.expects_continue = False
        """`Expect: 100-continue`: the client may wait for a 100 before it sends the body."""

    def url(self, part: bytes) -> None:
        self.header_bytes += len(part)
        if self.header_bytes > self.max_head:
            raise Reject(414, "the request target is too long")

    def header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.max_head:
            raise Reject(431, "the request headers are too large")
        size = len(name)  # most names are neither: compare lengths before lowercasing
        if size == len(_CONTENT_LENGTH) and name.lower() == _CONTENT_LENGTH:
            self.declared = value
        elif size == len(_EXPECT) and name.lower() == _EXPECT:
            self.expects_continue = value.strip().lower() == b"100-continue"

    def headers_done(self) -> None:
        """All headers are in: a declared body over the limit is refused before any of it is read."""
        if self.declared and self.declared.isdigit() and int(self.declared) > self.max_body:
            raise Reject(413, self.too_large)

    def body(self, size: int) -> None:
        self.body_bytes += size
        if self.body_bytes > self.max_body:
            raise Reject(413, self.too_large)

    @property
    def too_large(self) -> str:
        return f"the request body is larger than {self.max_body} bytes"


def feed(parser: httptools.HttpRequestParser, data: bytes) -> Reject | None:
    """Give `data` to the parser; the answer owed when the connection's input cannot be read further."""
    try:
        parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        return Reject(400, "protocol upgrades are not supported")
    except httptools.HttpParserError as exc:
        cause = exc.__context__  # httptools wraps what a callback raised
        return cause if isinstance(cause, Reject) else Reject(400, f"malformed HTTP request: {exc}")
    return None
