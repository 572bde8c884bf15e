"""Running an HTTP app: the event loop (uvloop when installed), listening sockets, deadline sweep, draining."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import socket
import ssl
from collections.abc import Callable

from mlk.http.limits import Limits
from mlk.http.message import json_response
from mlk.http.protocol import ConnectionSet, Handler, HttpProtocol, Observer


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (about twice the throughput), asyncio otherwise or with MLK_NO_UVLOOP=1."""
    if not os.environ.get("MLK_NO_UVLOOP"):
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
            pass
    return asyncio.new_event_loop()


def bind(host: str, port: int, *, reuse_port: bool = False, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one (read it back from getsockname())."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


ProtocolFactory = Callable[[ConnectionSet], asyncio.Protocol]
FDS_PER_CONNECTION = 2
"""A client's socket and, at the router, the replica's: the connection cap leaves room for both."""
FDS_RESERVED = 64
"""Files, log files, listening sockets and the like."""


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (the default soft 1024 is a few hundred
    connections); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a container may refuse: serve within what we have
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(limits: Limits) -> int:
    """The most client connections served at once: the configured cap within the file-descriptor limit."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    by_fds = (soft - FDS_RESERVED) // FDS_PER_CONNECTION if soft != resource.RLIM_INFINITY else limits.max_connections
    return max(1, min(limits.max_connections, by_fds))


class _Overloaded(asyncio.Protocol):
    """Past the connection cap: a 503 and close, without reading (the client may retry at once)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        answer = json_response(503, {"message": "too many open connections: retry shortly"}, [("Retry-After", "1")])
        transport.write(answer.encode(keep_alive=False))  # type: ignore[attr-defined]
        transport.close()


class HttpServer:
    """Serves on one listening socket until `shutdown`: a handler through HttpProtocol, or any protocol
    (`factory`) that registers itself in the ConnectionSet it is given, as the router's does."""

    def __init__(
        self,
        handler: Handler | None = None,
        limits: Limits | None = None,
        observer: Observer | None = None,
        factory: ProtocolFactory | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.connections = ConnectionSet()
        if factory is None:
            assert handler is not None, "a handler or a protocol factory"
            limits_ = self.limits

            def factory(connections: ConnectionSet) -> asyncio.Protocol:
                return HttpProtocol(handler, limits_, connections, observer)

        self.factory = factory
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.refused = 0
        """Connections turned away at the cap (logged once a second by the sweep)."""

    async def start(self, sock: socket.socket, tls: ssl.SSLContext | None = None) -> None:
        loop = asyncio.get_running_loop()
        cap = connection_cap(self.limits)

        def accept() -> asyncio.Protocol:
            if len(self.connections.connections) >= cap:
                self.refused += 1
                return _Overloaded()
            return self.factory(self.connections)

        self._server = await loop.create_server(accept, sock=sock, backlog=2048, ssl=tls)
        self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.connections.sweep()
            if self.refused:
                logging.getLogger("mlk.http").warning(
                    "%d connection(s) refused with 503: %d open, the cap",
                    self.refused,
                    len(self.connections.connections),
                )
                self.refused = 0

    @property
    def active(self) -> int:
        return len(self.connections.connections)

    async def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, let requests in flight finish (up to `grace` seconds), then close everything."""
        if self._server is not None:
            self._server.close()
        self.connections.draining = True
        for conn in list(self.connections.connections):
            conn.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.connections.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections.connections):
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
