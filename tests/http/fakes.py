"""Sockets without sockets: the transports the protocol suite drives mlk's two HTTP/1.1 protocols through,
and a reader for the bytes they write back.

`ClientTransport` stands for the client's socket: it records writes, pauses and the close. `Link` joins
two protocols in memory (the router's upstream connection and a replica's server protocol), delivering
each write on the next loop turn as a socket would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


class _Transport:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.protocol: asyncio.Protocol | None = None
        self.closed = False
        self.paused = False

    def attach(self, protocol: asyncio.Protocol) -> None:
        self.protocol = protocol
        protocol.connection_made(self)  # type: ignore[arg-type]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.protocol is not None:  # asyncio tells the protocol on a later turn, not inside close()
                self.loop.call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_reading(self) -> bool:
        return not self.paused

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class ClientTransport(_Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        assert not self.closed, f"wrote {bytes(data[:60])!r} after close()"
        self.written += data


class Link(_Transport):
    """One end of an in-memory connection; `peer` is the other end."""

    peer: Link

    @classmethod
    def pair(cls, loop: asyncio.AbstractEventLoop) -> tuple[Link, Link]:
        one, other = cls(loop), cls(loop)
        one.peer, other.peer = other, one
        return one, other

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.loop.call_soon(self.peer._deliver, bytes(data))

    def _deliver(self, data: bytes) -> None:
        if not self.closed and self.protocol is not None:
            self.protocol.data_received(data)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self.loop.call_soon(self.peer.close)


@dataclass
class Answer:
    status: int
    reason: bytes
    headers: dict[bytes, bytes] = field(default_factory=dict)
    """Lowercase names."""
    body: bytes = b""


def read_answers(data: bytes, methods: list[str]) -> list[Answer]:
    """The responses in `data`, interim (1xx) ones included; `methods` are the requests' methods in the
    order they are answered (a HEAD's answer has no body), a final answer past them counts as a GET's."""
    answers: list[Answer] = []
    pending = list(methods)
    pos = 0
    while pos < len(data):
        end = data.index(b"\r\n\r\n", pos)
        status_line, *lines = data[pos:end].split(b"\r\n")
        version, status, reason = status_line.split(b" ", 2)
        assert version == b"HTTP/1.1", status_line
        answer = Answer(int(status), reason)
        for line in lines:
            name, _, value = line.partition(b":")
            answer.headers[name.strip().lower()] = value.strip()
        pos = end + 4
        answers.append(answer)
        if answer.status < 200:
            continue
        method = pending.pop(0) if pending else "GET"
        if method == "HEAD" or answer.status in (204, 304):
            continue
        if answer.headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size_end = data.index(b"\r\n", pos)
                size = int(data[pos:size_end], 16)
                answer.body += data[size_end + 2 : size_end + 2 + size]
                pos = size_end + 2 + size + 2
                if size == 0:
                    break
        elif b"content-length" in answer.headers:
            length = int(answer.headers[b"content-length"])
            answer.body, pos = data[pos : pos + length], pos + length
        else:  # delimited by the connection's end
            answer.body, pos = data[pos:], len(data)
    return answers
