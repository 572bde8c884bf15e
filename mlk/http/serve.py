"""Running an HTTP app: the event loop (uvloop when installed), listening sockets, deadline sweep, draining."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from collections.abc import Callable

from mlk.http.protocol import ConnectionSet, Handler, HttpProtocol, Limits, Observer


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

    async def start(self, sock: socket.socket, tls: ssl.SSLContext | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: self.factory(self.connections), sock=sock, backlog=2048, ssl=tls
        )
        self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.connections.sweep()

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
