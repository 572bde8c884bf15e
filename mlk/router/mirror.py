"""mirror_traffic: a copy of a share of requests goes to another deployment; its answer is thrown away.

The copy is sent after the client's own request was answered, only when the mirror deployment has a free
slot (a copy never queues and never delays a client), and counted as sent or dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from mlk.router import upstream as pool
from mlk.router.headers import DROP_REQUEST
from mlk.router.state import Deployment
from mlk.router.upstream import Upstream

if TYPE_CHECKING:
    from mlk.router.exchange import Exchange
    from mlk.router.service import Router


class _Discard:
    """Reads the mirror's answer to its end, keeping nothing."""

    def __init__(self, loop: asyncio.AbstractEventLoop, head_only: bool) -> None:
        self.head_only = head_only
        """A HEAD's answer has no body to wait for."""
        self.done: asyncio.Future[bool] = loop.create_future()
        self.status = 0

    def upstream_head(self, status: int, headers: list[tuple[bytes, bytes]], chunked: bool) -> None:
        self.status = status

    def upstream_body(self, chunk: bytes) -> None:
        pass

    def upstream_done(self, upstream: Upstream, reusable: bool) -> None:
        if reusable:
            pool.give_back(upstream)
        else:
            upstream.close()
        if not self.done.done():
            self.done.set_result(True)

    def upstream_failed(self, exc: BaseException, responded: bool) -> None:
        if not self.done.done():
            self.done.set_result(False)

    def upstream_writable(self, writable: bool) -> None:
        pass

    def flush(self) -> None:
        pass


async def send_copy(router: Router, original: Exchange, deployment: Deployment, path: bytes) -> None:
    labels = (deployment.endpoint, deployment.name)
    # Only a request whose whole body was kept can be copied; a slot is taken only for one that can.
    replica = deployment.try_acquire() if original.body_done and original.keep_copy else None
    if replica is None:
        router.metrics.mirrored.inc((*labels, "dropped"))
        return
    ok = False
    upstream = None
    try:
        upstream = pool.take(replica) or await pool.connect(replica, 3.0)
        body = b"".join(original.body)
        lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (original.method.encode(), path, replica.host_header)]
        lines += [b"%s: %s\r\n" % (n, v) for n, v in original.headers if n.lower() not in DROP_REQUEST]
        lines.append(
            b"x-request-id: %s\r\nx-ms-mirrored: true\r\n%sContent-Length: %d\r\n\r\n"
            % (original.request_id.encode(), router.peer_header, len(body))
        )
        sink = _Discard(router.loop, original.head_only)
        started = time.perf_counter()
        upstream.send(sink, b"".join(lines) + body)
        ok = await asyncio.wait_for(sink.done, deployment.config.settings.request_timeout_ms / 1000)
        router.metrics.latency.observe(labels, time.perf_counter() - started)
    except (OSError, TimeoutError):
        if upstream is not None:
            upstream.close()
    finally:
        deployment.release(replica)
        router.metrics.mirrored.inc((*labels, "sent" if ok else "dropped"))
