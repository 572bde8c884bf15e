"""HTTP/1.1 requests and responses as plain, cheap objects (the protocol fills them; apps read and build them)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mlk.http.head import response_head

_FRAMING_AND_HOP = ("content-length", "connection", "transfer-encoding")
"""Set by the protocol from how it sends the body, never by the app."""


class Request:
    """One parsed request. Header names are lowercase; values are latin-1 decoded as HTTP says."""

    __slots__ = (
        "arrived",
        "body",
        "client",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "path",
        "query",
        "target",
    )

    def __init__(
        self,
        method: str,
        target: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        http_version: str = "1.1",
        keep_alive: bool = True,
        client: tuple[str, int] | None = None,
    ) -> None:
        self.method = method
        self.target = target
        """The request target as received: path and query."""
        self.path = path
        self.query = query
        """The raw query string, without '?'."""
        self.headers = headers
        """Lowercase name → value; repeated headers are joined with a comma, as WSGI servers join them."""
        self.body = body
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.client = client
        self.arrived = time.perf_counter()
        """When the whole request had been read (for latency metrics)."""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class Response:
    """A complete response; `encode` gives the bytes for the wire."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))

    def set_header(self, name: str, value: str) -> None:
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))

    def get_header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def encode(self, *, keep_alive: bool = True, head: bool = False) -> bytes:
        head_bytes = self.encode_head(b"Content-Length: %d" % len(self.body), keep_alive=keep_alive)
        return head_bytes if head else head_bytes + self.body

    def encode_head(self, framing: bytes | None, *, keep_alive: bool) -> bytes:
        """Status line and headers (mlk.http.head); `framing` is the Content-Length or Transfer-Encoding
        line (None: the body ends when the connection closes)."""
        fields = "".join(f"{k}: {v}\r\n" for k, v in self.headers if k.lower() not in _FRAMING_AND_HOP)
        return response_head(self.status, fields.encode("latin-1"), framing, keep_alive=keep_alive)


class StreamingResponse(Response):
    """A response whose body is produced while it is sent: `next_chunk()` gives an awaitable of the next
    bytes (None at the end); `stop()` ends production early (the client left, or it was a HEAD)."""

    __slots__ = ("next_chunk", "stop")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        next_chunk: Callable[[], Awaitable[bytes | None]],
        stop: Callable[[], None],
    ) -> None:
        super().__init__(status, b"", headers)
        self.next_chunk = next_chunk
        self.stop = stop


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), headers, "application/json")


def text_response(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, text.encode(), headers, "text/plain; charset=utf-8")
