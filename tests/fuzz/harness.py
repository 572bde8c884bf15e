"""What the HTTP fuzz targets share: a fake transport, a per-input event loop, and a checker of the bytes a
server wrote back (every response framed as HTTP/1.1 says, whatever the client sent).

A violated invariant raises `Violation` (an AssertionError), which the fuzzer records as a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Iterator
from typing import Any


class Violation(AssertionError):
    """An invariant of the target does not hold for this input."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Violation(message)


# --- splitting the fuzzer's bytes into reads --------------------------------------------------------------


def reads(control: int, payload: bytes) -> tuple[list[bytes], int]:
    """Cut `payload` into the chunks a socket might deliver, and say how many loop turns to run between
    them: the control byte's low five bits pick the chunk size (0: all at once), the next two bits the turns
    (0 to 3; with 0 the protocol is fed again before anything it scheduled ran)."""
    size = control & 0x1F
    turns = (control >> 5) & 0x03
    if size == 0:
        return [payload], turns
    sizes = (1, 2, 3, 5, 7, 11, 16, 17, 31, 64, 100, 128, 255, 256, 1000, 1024)
    step = sizes[size % len(sizes)] if size >= len(sizes) else size
    return [payload[i : i + step] for i in range(0, len(payload), step)], turns


# --- the transport --------------------------------------------------------------------------------------


class FakeTransport:
    """Records what the protocol writes and whether it paused, resumed or closed the connection; closing
    tells the protocol `connection_lost` on the next loop turn, as asyncio's transports do."""

    def __init__(self, loop: asyncio.AbstractEventLoop, peer: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.loop = loop
        self.peer = peer
        self.protocol: asyncio.Protocol | None = None
        self.writes: list[tuple[bool, bytes]] = []
        """(written while the protocol was rejecting the request, bytes) per write() call."""
        self.rejecting = False
        self.closed = False
        self.paused = False
        self.writes_after_close = 0

    def attach(self, protocol: asyncio.Protocol) -> None:
        self.protocol = protocol
        protocol.connection_made(self)  # type: ignore[arg-type]

    def write(self, data: bytes) -> None:
        check(isinstance(data, bytes | bytearray | memoryview), f"write() of {type(data).__name__}")
        if self.closed:
            self.writes_after_close += 1
            return
        if data:
            self.writes.append((self.rejecting, bytes(data)))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.protocol is not None:
                self.loop.call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def stalled(self) -> bool:
        """Reading is paused on a connection that is still open."""
        return self.paused and not self.closed

    def is_reading(self) -> bool:
        return not self.paused

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def mark_rejects(protocol: Any, transport: FakeTransport) -> None:
    """Tag the writes the protocol's `_reject` makes (an answer to no request the app saw), at once or, when
    earlier requests were still being answered, later through `_answer_deferred`, for the checker."""
    for name in ("_reject", "_answer_deferred"):
        original = getattr(protocol, name)

        def rejecting(*args: Any, original: Any = original) -> None:
            transport.rejecting = True
            try:
                original(*args)
            finally:
                transport.rejecting = False

        setattr(protocol, name, rejecting)


# --- the event loop --------------------------------------------------------------------------------------


@contextlib.contextmanager
def event_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, list[str]]]:
    """A fresh loop for one input; exceptions that reach the loop's handler (a failing callback or task)
    are collected, and the loop is emptied and closed afterwards. Logging is off meanwhile: the code under
    test logs the errors it handles, and a fuzzer runs millions of inputs."""
    loop = asyncio.new_event_loop()
    errors: list[str] = []

    def handler(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        errors.append(f"{context.get('message')}: {exc!r}" if exc else str(context.get("message")))

    loop.set_exception_handler(handler)
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield loop, errors
    finally:
        try:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            logging.disable(previous)


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def settle(loop: asyncio.AbstractEventLoop, limit: int = 200) -> None:
    """Run the loop until no task but this one is left and nothing is ready (or `limit` turns)."""
    me = asyncio.current_task()
    for _ in range(limit):
        await asyncio.sleep(0)
        pending = [t for t in asyncio.all_tasks(loop) if t is not me and not t.done()]
        if not pending and not getattr(loop, "_ready", ()):  # this task is running, so not in _ready
            return


# --- checking what the server wrote ---------------------------------------------------------------------

_STATUS = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) [^\r\n]*\r\n")
_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ?([^\r\n\x00]*)\r\n")
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]+)\r\n")


class ResponseStream:
    """Checks, write by write, that a server's output is a sequence of well-formed HTTP/1.1 responses.

    `methods` is the queue of the requests' methods in the order they are answered (a HEAD response has no
    body whatever its Content-Length says); writes tagged as rejects answer no queued request and must be
    the last thing on the connection. Chunked responses may continue over several writes.
    """

    def __init__(self, methods: deque[str]) -> None:
        self.methods = methods
        self.pending = b""
        self.chunked = False
        """Inside a chunked body that continues in a later write."""
        self.until_close = False
        """Inside a body delimited by the connection's end (HTTP/1.0 streaming)."""
        self.rejected = False
        self.responses: list[int] = []

    def feed(self, rejecting: bool, data: bytes) -> None:
        check(not self.rejected, f"wrote {data[:60]!r} after the connection was rejected")
        if self.until_close:
            return
        if rejecting:
            check(not self.chunked, f"reject {data[:60]!r} written in the middle of a chunked body")
            check(
                not self.methods,
                f"reject {data[:60]!r} written before the answer to an earlier request (responses out of order)",
            )
            self.rejected = True
        self.pending += data
        self._parse(rejecting)
        if rejecting:
            check(not self.pending and not self.chunked, f"reject left {self.pending[:60]!r} unfinished")

    def _parse(self, rejecting: bool) -> None:
        data, pos = self.pending, 0
        while pos < len(data) or self.chunked:
            if self.chunked:
                end = self._chunks(data, pos)
                if end is None:  # the body goes on in a later write
                    self.pending = data[pos:]
                    return
                pos, self.chunked = end, False
                continue
            pos = self._response(data, pos, rejecting)
            if self.until_close:
                self.pending = b""
                return
        self.pending = b""

    def _response(self, data: bytes, pos: int, rejecting: bool) -> int:
        status_line = _STATUS.match(data, pos)
        check(status_line, f"a response does not start with 'HTTP/1.1 NNN': {data[pos : pos + 80]!r}")
        assert status_line is not None
        status = int(status_line[1])
        fields: dict[bytes, list[bytes]] = {}
        cursor = status_line.end()
        while not data.startswith(b"\r\n", cursor):
            field = _FIELD.match(data, cursor)
            check(field, f"malformed header line at {data[cursor : cursor + 80]!r} (response {status})")
            assert field is not None
            fields.setdefault(field[1].lower(), []).append(field[2])
            cursor = field.end()
        cursor += 2
        if status < 200:
            check(not fields.get(b"content-length") and not fields.get(b"transfer-encoding"), "1xx with a body")
            return cursor
        self.responses.append(status)
        method = None if rejecting else (self.methods.popleft() if self.methods else None)
        if rejecting:
            check(400 <= status < 500, f"a rejected request answered {status}")
            check(fields.get(b"connection") == [b"close"], "a reject does not say Connection: close")
        lengths, codings = fields.get(b"content-length", []), fields.get(b"transfer-encoding", [])
        check(len(lengths) <= 1, f"{len(lengths)} Content-Length headers")
        check(not (lengths and codings), "both Content-Length and Transfer-Encoding")
        if method == "HEAD" or status in (204, 304):
            return cursor
        if codings:
            check(codings == [b"chunked"], f"Transfer-Encoding {codings!r}")
            self.chunked = True
            return cursor
        if lengths:
            check(lengths[0].isdigit(), f"Content-Length {lengths[0]!r}")
            end = cursor + int(lengths[0])
            check(end <= len(data), f"response {status}: Content-Length {lengths[0]!r} but {len(data) - cursor} bytes")
            return end
        check(fields.get(b"connection") == [b"close"], f"response {status} has no framing and does not close")
        self.until_close = True
        return len(data)

    def _chunks(self, data: bytes, pos: int) -> int | None:
        """End of the chunked body starting at `pos`, or None when it continues in a later write."""
        while True:
            if pos >= len(data):
                return None
            size = _CHUNK_SIZE.match(data, pos)
            if size is None and re.fullmatch(rb"[0-9a-fA-F]*\r?", data[pos:]):
                return None  # the size line goes on in the next write
            check(size, f"malformed chunk size line {data[pos : pos + 40]!r}")
            assert size is not None
            length = int(size[1], 16)
            end = size.end() + length
            if end + 2 > len(data):
                return None
            check(data[end : end + 2] == b"\r\n", f"a chunk is not followed by CRLF: {data[pos:][:60]!r}")
            if length == 0:
                return end + 2
            pos = end + 2


def check_writes(transport: FakeTransport, methods: deque[str]) -> ResponseStream:
    stream = ResponseStream(methods)
    for rejecting, data in transport.writes:
        stream.feed(rejecting, data)
    check(transport.writes_after_close == 0, f"{transport.writes_after_close} write(s) after close()")
    return stream
