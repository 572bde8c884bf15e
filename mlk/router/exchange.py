"""One proxied request: route it, wait for a replica slot, send it, stream the answer back.

The client side (proxy.ClientProtocol) feeds the request body in; the upstream side (upstream.Upstream)
feeds the response out. Bodies stream through: nothing is held whole, except a copy of small bodies kept
so a request whose connection failed before any answer can be sent once more to another replica.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

from mlk.router import upstream as pool
from mlk.router.state import Deployment, Replica
from mlk.router.upstream import Upstream

if TYPE_CHECKING:
    from mlk.router.proxy import ClientProtocol
    from mlk.router.service import Router

RETRY_BODY_LIMIT = 1024 * 1024
CONNECT_TIMEOUT = 3.0
# Hop-by-hop and routing headers: never forwarded as they are.
DROP_REQUEST = {
    b"host",
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"upgrade",
    b"authorization",
    b"transfer-encoding",
    b"content-length",
    b"expect",
    b"x-request-id",
    b"azureml-model-deployment",
}
DROP_RESPONSE = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"content-length",
    b"x-request-id",
    b"azureml-model-deployment",
    b"date",
    b"server",
    b"trailer",
    b"upgrade",
}
_REASONS = {
    200: b"OK",
    201: b"Created",
    202: b"Accepted",
    204: b"No Content",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    415: b"Unsupported Media Type",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}


class Retryable(Exception):
    """The replica failed before answering: the request may go to another replica."""


class Exchange:
    def __init__(
        self,
        router: Router,
        client: ClientProtocol,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
    ) -> None:
        self.router = router
        self.client = client
        self.method = method
        self.head_only = method == "HEAD"
        self.target = target
        self.headers = headers
        self.keep_alive = keep_alive
        self.started = time.perf_counter()
        self.request_id = ""
        self.endpoint = "-"
        self.deployment: Deployment | None = None
        self.replica: Replica | None = None
        self.status = 0
        self.sent_bytes = 0
        # request body
        self.body: list[bytes] = []
        self.body_size = 0
        self.body_done = False
        self.keep_copy = True
        self.request_chunked = False
        self.upstream: Upstream | None = None
        # response
        self.responded = False
        self.rechunk = False
        self.answered: asyncio.Future[None] = router.loop.create_future()
        self.complete = False

    # --- request body, fed by the client ----------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self.upstream is not None:
            self.upstream.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.request_chunked else chunk)
        if self.upstream is None or self.keep_copy:
            self.body.append(chunk)
            if self.keep_copy and self.body_size > RETRY_BODY_LIMIT and self.upstream is not None:
                self.keep_copy = False
                self.body = []

    def end(self) -> None:
        self.body_done = True
        if self.upstream is not None and self.request_chunked:
            self.upstream.write(b"0\r\n\r\n")

    # --- the route --------------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self.router.handle(self)
        except Exception as exc:  # never leave a client without an answer
            self.router.log_failure(self, exc)
            self.fail(502, "the router failed to forward the request")
        finally:
            if not self.complete:
                self.finish()

    def upstream_head_bytes(self, replica: Replica, path: bytes) -> bytes:
        lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (self.method.encode(), path, replica.host_header)]
        length = None
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = value
            elif lowered == b"transfer-encoding":
                self.request_chunked = b"chunked" in value.lower()
            if lowered not in DROP_REQUEST:
                lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"x-request-id: %s\r\n" % self.request_id.encode())
        if self.request_chunked:
            lines.append(b"Transfer-Encoding: chunked\r\n")
        elif length is not None:
            lines.append(b"Content-Length: %s\r\n" % length)
        lines.append(b"\r\n")
        return b"".join(lines)

    async def forward(self, deployment: Deployment, path: bytes) -> None:
        """Send to the replica whose slot `self.replica` holds; on a failure before any answer, once more to
        another replica (the slot moves with it, so the caller always releases `self.replica`)."""
        deadline = self.started + deployment.config.settings.request_timeout_ms / 1000
        for attempt in (1, 2):
            replica = self.replica
            assert replica is not None
            try:
                await self._send_once(replica, path, deadline)
                replica.succeeded()
                return
            except Retryable as failure:
                self.upstream = None
                if replica.failed():
                    self.router.eject(replica)
                resendable = self.keep_copy or self.body_size == 0
                other = deployment.try_acquire(avoid=replica) if attempt == 1 and resendable else None
                if other is None:
                    self.fail(502, f"the deployment's replica failed: {failure}")
                    return
                deployment.release(replica)
                self.replica = other
                self.router.metrics.retries.inc((self.endpoint, deployment.name))

    async def _send_once(self, replica: Replica, path: bytes, deadline: float) -> None:
        upstream = pool.take(replica)
        if upstream is None:
            try:
                upstream = await pool.connect(replica, min(CONNECT_TIMEOUT, max(0.05, deadline - time.perf_counter())))
            except (OSError, TimeoutError) as exc:
                raise Retryable(f"cannot connect to {replica.url}: {exc}") from None
        head = self.upstream_head_bytes(replica, path)
        if self.request_chunked:
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in self.body)
            body += b"0\r\n\r\n" if self.body_done else b""
        else:
            body = b"".join(self.body)
        if not self.keep_copy:
            self.body = []
        self.answered = self.router.loop.create_future()
        self.upstream = upstream
        upstream.send(self, head + body)
        timer = self.router.loop.call_later(max(0.0, deadline - time.perf_counter()), self._timed_out)
        try:
            await self.answered
        except TimeoutError:
            upstream.close()
            if self.responded:
                self.client.abort()
            else:
                ms = self.deployment.config.settings.request_timeout_ms if self.deployment else 0
                self.fail(504, f"the deployment did not answer within request_timeout_ms ({ms} ms)")
        finally:
            timer.cancel()

    def _timed_out(self) -> None:
        if not self.answered.done():
            self.answered.set_exception(TimeoutError())

    # --- response, fed by the upstream ------------------------------------------------------------------
    def upstream_head(self, status: int, headers: list[tuple[bytes, bytes]], chunked: bool) -> None:
        self.responded = True
        self.status = 502 if status == 500 else status  # Kubernetes azureml-fe: a crashed run() is 502
        lines = [b"HTTP/1.1 %d %s\r\n" % (self.status, _REASONS.get(self.status, b"Unknown"))]
        length = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = value
            if lowered not in DROP_RESPONSE:
                lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"x-request-id: %s\r\n" % self.request_id.encode())
        if self.deployment is not None:
            lines.append(b"azureml-model-deployment: %s\r\n" % self.deployment.name.encode())
        if length is not None and not chunked:
            lines.append(b"Content-Length: %s\r\n" % length)
        elif not self.head_only:
            self.rechunk = True
            lines.append(b"Transfer-Encoding: chunked\r\n")
        if not self.keep_alive:
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        self.client.write(b"".join(lines))

    def upstream_body(self, chunk: bytes) -> None:
        self.sent_bytes += len(chunk)
        self.client.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.rechunk else chunk)

    def upstream_done(self, upstream: Upstream, reusable: bool) -> None:
        if self.rechunk:
            self.client.write(b"0\r\n\r\n")
        if reusable and self.body_done:
            pool.give_back(upstream)
        else:
            upstream.close()
        if not self.answered.done():
            self.answered.set_result(None)

    def upstream_failed(self, exc: BaseException, responded: bool) -> None:
        if self.answered.done():
            return
        if self.client.gone:  # the client left and we closed the replica connection: nothing to retry
            self.answered.set_result(None)
            return
        if responded or self.responded:
            self.client.abort()
            self.answered.set_result(None)
        else:
            self.answered.set_exception(Retryable(str(exc) or type(exc).__name__))

    def upstream_writable(self, writable: bool) -> None:
        self.client.set_reading(writable)

    # --- answers the router makes itself ----------------------------------------------------------------
    def fail(self, status: int, message: str) -> None:
        if self.responded:
            self.client.abort()
            return
        self.respond(status, b'{"message": "%s"}' % message.replace('"', "'").encode(), b"application/json")

    def respond(self, status: int, body: bytes, content_type: bytes, extra: bytes = b"") -> None:
        self.responded = True
        self.status = status
        self.sent_bytes = len(body)
        if not self.request_id:
            self.request_id = str(uuid.uuid4())
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-request-id: %s\r\n%s%s\r\n" % (
            status,
            _REASONS.get(status, b"Unknown"),
            content_type,
            len(body),
            self.request_id.encode(),
            extra,
            b"" if self.keep_alive else b"Connection: close\r\n",
        )
        self.client.write(head if self.head_only else head + body)

    def finish(self) -> None:
        self.complete = True
        if not self.responded:
            self.fail(502, "no answer")
        self.router.record(self)
        self.client.exchange_done(self)
