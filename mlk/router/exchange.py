"""One proxied request: sent to a replica, its answer streamed back — driven by callbacks, not a task.

The common case costs no coroutine at all: a slot is free and a pooled connection is idle, so the request
goes out inside the client's data callback and the answer comes back through the upstream's. Only the
slow paths (waiting in the deployment's queue, opening a connection) run as tasks. The router's sweep
enforces request_timeout_ms, so a request does not need a timer of its own.

The client side (proxy.ClientProtocol) feeds the request body in; the upstream side (upstream.Upstream)
feeds the answer out. Bodies stream through; only a copy of small bodies is kept, so a request whose
connection failed before any answer can go once more to another replica.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from mlk.http import admission, peer
from mlk.router import upstream as pool
from mlk.router.ids import request_id
from mlk.router.state import Deployment, Replica
from mlk.router.upstream import Upstream

if TYPE_CHECKING:
    from mlk.router.proxy import ClientProtocol
    from mlk.router.service import Router

RETRY_BODY_LIMIT = 1024 * 1024
BUSY_BACKOFF_FIRST = 0.002  # a replica another router filled: retry after 2 ms, doubling up to 50 ms
BUSY_BACKOFF_MAX = 0.05
CONNECT_TIMEOUT = 3.0
UNKNOWN = "-"
"""The endpoint or deployment label (and log field) of a request for a name that is not routed: clients
choose names, not metric label values."""
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
    admission.REQUEST_HEADER.encode(),
    peer.HEADER.encode(),  # a client never chooses it: the router sends its own
}


def connection_named(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The header names a `Connection:` field lists: hop-by-hop for this connection alone, never forwarded
    (RFC 9110 §7.6.1)."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(token.strip().lower() for token in value.split(b",") if token.strip())
    return named


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


_BUSY = admission.BUSY_HEADER.encode()


class Exchange:
    def __init__(
        self,
        router: Router,
        client: ClientProtocol,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        special: dict[bytes, bytes] | None = None,
    ) -> None:
        self.special = special if special is not None else {}
        """The headers the router itself reads (authorization, x-request-id, ...), lowercase names."""
        self.router = router
        self.client = client
        self.method = method
        self.head_only = method == "HEAD"
        self.target = target
        self.headers = headers
        self.keep_alive = keep_alive
        self.started = time.perf_counter()
        self.deadline = 0.0
        self.request_id = ""
        self.endpoint = UNKNOWN
        self.deployment: Deployment | None = None
        self.replica: Replica | None = None
        self.path = b""
        self.attempt = 0
        self.bounces = 0
        self.bounced = False
        """The replica answered x-mlk-busy: its answer is swallowed and the request goes again."""
        self.status = 0
        self.sent_bytes = 0
        self.mirror_to: Deployment | None = None
        # request body
        self.body: list[bytes] = []
        self.body_size = 0
        self.body_done = False
        self.keep_copy = True
        self.request_chunked = False
        self.upstream: Upstream | None = None
        # answer
        self.responded = False
        self.rechunk = False
        self.settled = False
        self.complete = False

    # --- request body, fed by the client ----------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self.upstream is not None:
            self.upstream.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.request_chunked else chunk)
        elif self.responded or self.settled:
            return  # answered already (401, 404, 429, ...): the rest of the body is read and dropped, never kept
        if self.upstream is None or self.keep_copy:
            self.body.append(chunk)
            if self.keep_copy and self.body_size > RETRY_BODY_LIMIT and self.upstream is not None:
                self.keep_copy = False
                self.body = []
        if self.upstream is None and self.body_size > RETRY_BODY_LIMIT:
            # Waiting for a replica or a connection: hold at most this much, read more once it can flow on.
            self.client.set_reading(False)

    def end(self) -> None:
        self.body_done = True
        if self.upstream is not None and self.request_chunked:
            self.upstream.write(b"0\r\n\r\n")

    # --- sending ----------------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.router.handle(self)
        except Exception as exc:  # never leave a client without an answer
            self.router.log_failure(self, exc)
            self.fail(502, "the router failed to forward the request")

    def go(self, deployment: Deployment, replica: Replica, path: bytes) -> None:
        """Forward over `replica`, whose slot this exchange now holds."""
        self.deployment, self.replica, self.path = deployment, replica, path
        self.deadline = self.started + deployment.config.settings.request_timeout_ms / 1000
        self.router.in_flight.add(self)
        self._dispatch()

    def _dispatch(self, attempt: bool = True) -> None:
        self.attempt += attempt
        assert self.replica is not None
        upstream = pool.take(self.replica)
        if upstream is None:
            self.router.spawn(self._connect(self.replica))
        else:
            self._send(upstream)

    async def _connect(self, replica: Replica) -> None:
        try:
            upstream = await pool.connect(replica, min(CONNECT_TIMEOUT, max(0.05, self.deadline - time.perf_counter())))
        except (OSError, TimeoutError) as exc:
            if not self.settled:
                self._retry_or_fail(f"cannot connect to {replica.url}: {exc}")
            return
        if self.settled or replica is not self.replica:
            upstream.close()
            return
        self._send(upstream)

    def _send(self, upstream: Upstream) -> None:
        if self.client.gone:
            pool.give_back(upstream)
            self._settle()
            return
        assert self.replica is not None
        head = self._head(self.replica)
        if self.request_chunked:
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in self.body)
            body += b"0\r\n\r\n" if self.body_done else b""
        else:
            body = b"".join(self.body) if len(self.body) != 1 else self.body[0]
        if not self.keep_copy:
            self.body = []
        self.upstream = upstream
        self.client.set_reading(True)  # before sending: the upstream pauses the client again if it is slow
        upstream.send(self, head + body)

    def _head(self, replica: Replica) -> bytes:
        lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (self.method.encode(), self.path, replica.host_header)]
        length = None
        hop_by_hop = connection_named(self.headers)
        for name, value in self.headers:
            lowered = name.lower()
            if lowered in DROP_REQUEST:
                if lowered == b"content-length":
                    length = value
                elif lowered == b"transfer-encoding":
                    self.request_chunked = b"chunked" in value.lower()
                continue
            if lowered in hop_by_hop:
                continue
            lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"x-request-id: %s\r\n%s" % (self.request_id.encode(), self.router.peer_header))
        if self.deployment is not None:
            lines.append(b"x-mlk-admission: %d\r\n" % self.deployment.concurrency)
        if self.request_chunked:
            lines.append(b"Transfer-Encoding: chunked\r\n\r\n")
        elif length is not None:
            lines.append(b"Content-Length: %s\r\n\r\n" % length)
        else:
            lines.append(b"\r\n")
        return b"".join(lines)

    def _retry_or_fail(self, why: str) -> None:
        """The replica failed before answering: once more on another replica, else 502."""
        self.upstream = None
        replica, deployment = self.replica, self.deployment
        assert replica is not None and deployment is not None
        if replica.failed():
            self.router.eject(replica)
        resendable = self.attempt == 1 and (self.keep_copy or self.body_size == 0)
        other = deployment.try_acquire(avoid=replica) if resendable else None
        if other is None:
            if not (resendable and self.router.requeue(self, replica, why)):
                self.fail(502, f"the deployment's replica failed: {why}")
            return
        deployment.release(replica)
        self.replica = other
        self.router.metrics.retries.inc((self.endpoint, deployment.name))
        self._dispatch()

    def _bounce(self) -> None:
        """Another router filled the replica (mlk.http.admission): try a replica with room, else wait and
        send again, for at most max_queue_wait_ms since the request arrived."""
        self.bounced = False
        self.bounces += 1
        deployment, replica = self.deployment, self.replica
        assert deployment is not None and replica is not None
        self.router.metrics.busy.inc((self.endpoint, deployment.name))
        waited = time.perf_counter() - self.started
        budget = deployment.config.settings.max_queue_wait_ms / 1000
        if waited >= budget or not (self.keep_copy or self.body_size == 0):
            self.fail(429, f"no replica of '{deployment.name}' had room within max_queue_wait_ms")
            return
        other = deployment.try_acquire(avoid=replica)
        if other is not None:
            deployment.release(replica)
            self.replica = other
            self._dispatch(attempt=False)
            return
        delay = min(BUSY_BACKOFF_MAX, BUSY_BACKOFF_FIRST * 2 ** (self.bounces - 1), budget - waited)
        self.router.loop.call_later(delay, self._resend)

    def _resend(self) -> None:
        if self.settled:
            return
        if self.client.gone:
            self._settle()
            return
        self._dispatch(attempt=False)

    def timed_out(self) -> None:
        """Called by the router's sweep once the deadline passed."""
        if self.upstream is not None:
            upstream, self.upstream = self.upstream, None
            upstream.close()
        if self.responded:
            self.client.abort()
            self._settle()
        else:
            ms = self.deployment.config.settings.request_timeout_ms if self.deployment else 0
            self.fail(504, f"the deployment did not answer within request_timeout_ms ({ms} ms)")

    def cancel(self) -> None:
        """The client went away: stop forwarding."""
        if self.upstream is not None:
            upstream, self.upstream = self.upstream, None
            upstream.close()
        if self.replica is not None and not self.settled:
            self._settle()

    # --- the answer, fed by the upstream ----------------------------------------------------------------
    def upstream_head(self, status: int, headers: list[tuple[bytes, bytes]], chunked: bool) -> None:
        if status == 429 and any(n.lower() == _BUSY for n, _ in headers):
            self.bounced = True
            return
        self.responded = True
        self.status = 502 if status == 500 else status  # Kubernetes azureml-fe: a crashed run() is 502
        lines = [b"HTTP/1.1 %d %s\r\n" % (self.status, _REASONS.get(self.status, b"Unknown"))]
        length = None
        hop_by_hop = connection_named(headers)
        for name, value in headers:
            lowered = name.lower()
            if lowered in DROP_RESPONSE:
                if lowered == b"content-length":
                    length = value
                continue
            if lowered in hop_by_hop:
                continue
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
        if self.bounced:
            return
        self.sent_bytes += len(chunk)
        self.client.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.rechunk else chunk)

    def upstream_done(self, upstream: Upstream, reusable: bool) -> None:
        self.upstream = None
        if self.bounced:
            pool.give_back(upstream) if reusable and self.body_done else upstream.close()
            self._bounce()
            return
        if self.rechunk:
            self.client.write(b"0\r\n\r\n")
        if reusable and self.body_done:
            pool.give_back(upstream)
        else:
            upstream.close()
        if self.replica is not None:
            self.replica.succeeded()
        self._settle()

    def upstream_failed(self, exc: BaseException, responded: bool) -> None:
        if self.settled:
            return
        if self.client.gone:
            self._settle()
        elif responded or self.responded:
            self.client.abort()
            self._settle()
        else:
            self._retry_or_fail(str(exc) or type(exc).__name__)

    def upstream_writable(self, writable: bool) -> None:
        self.client.set_reading(writable)

    def flush(self) -> None:
        self.client.flush()

    # --- answers the router makes itself ----------------------------------------------------------------
    def fail(self, status: int, message: str) -> None:
        if self.responded:
            self.client.abort()
        else:
            self.respond(status, json.dumps({"message": message}).encode(), b"application/json")
        self._settle()

    def respond(self, status: int, body: bytes, content_type: bytes) -> None:
        if not self.body_done:
            self.client.set_reading(True)  # the rest of the body is dropped as it comes: nothing to hold back
        self.responded = True
        self.status = status
        self.sent_bytes = len(body)
        if not self.request_id:
            self.request_id = request_id()
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-request-id: %s\r\n%s\r\n" % (
            status,
            _REASONS.get(status, b"Unknown"),
            content_type,
            len(body),
            self.request_id.encode(),
            b"" if self.keep_alive else b"Connection: close\r\n",
        )
        self.client.write(head if self.head_only else head + body)
        self.client.flush()
        if self.replica is None:
            self._settle()

    def _settle(self) -> None:
        """The exchange is over: give the slot back, count it, let the connection go on."""
        if self.settled:
            return
        self.settled = True
        self.router.in_flight.discard(self)
        if self.replica is not None and self.deployment is not None:
            self.deployment.release(self.replica)
        self.router.finished(self)
        self.client.exchange_done(self)
