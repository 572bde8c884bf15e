"""`mlk router`: serve a configuration source until SIGTERM; SIGHUP reloads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import time

from mlk.http import HttpServer, Limits, bind, new_event_loop
from mlk.http.logbuffer import configure_logging
from mlk.http.serve import raise_fd_limit
from mlk.router import upstream
from mlk.router.proxy import ClientProtocol
from mlk.router.service import Router
from mlk.router.sources import ConfigSource

log = logging.getLogger("mlk.router")
DRAIN_SECONDS = 30.0


async def _maintain(router: Router) -> None:
    while True:
        await asyncio.sleep(1.0)
        now = time.monotonic()
        for deployment in router.state.deployments():
            for replica in deployment.replicas:
                upstream.close_idle(replica, now)


async def serve(
    source: ConfigSource,
    host: str,
    port: int | None,
    access_log: bool = True,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    *,
    tls_port: int | None = None,
    tls: ssl.SSLContext | None = None,
    limits: Limits | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, or until `stop` is set when one is given (then no signal handlers).

    `port` serves plain HTTP, `tls_port` HTTPS with `tls`; either may be left out.
    """
    loop = asyncio.get_running_loop()
    router = Router(loop, source.load(), access_log)  # an invalid file stops the start with every problem
    limits = limits or Limits()
    servers = []
    for listen_port, context in ((port, None), (tls_port, tls)):
        if listen_port is None:
            continue
        server = HttpServer(limits=limits, factory=lambda conns: ClientProtocol(router, limits, conns))
        sock = bind(host, listen_port)
        await server.start(sock, context)
        servers.append(server)
        log.info("router listening at %s://%s:%s", "https" if context else "http", host, sock.getsockname()[1])
    if stop is None:
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGHUP, source.poke)
    tasks = [
        loop.create_task(source.watch(router.reload)),
        loop.create_task(_maintain(router)),
        loop.create_task(router.sweep_timeouts()),
    ]
    if ready is not None:
        ready.set()
    await stop.wait()
    log.info("draining: finishing requests in flight")
    await asyncio.gather(*(server.shutdown(DRAIN_SECONDS) for server in servers))
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    router.access.flush()


def run(
    source: ConfigSource,
    host: str,
    port: int | None,
    access_log: bool = True,
    *,
    tls_port: int | None = None,
    tls: ssl.SSLContext | None = None,
    limits: Limits | None = None,
) -> int:
    configure_logging("mlk")
    raise_fd_limit()
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(source, host, port, access_log, tls_port=tls_port, tls=tls, limits=limits))
    finally:
        loop.close()
    return 0
