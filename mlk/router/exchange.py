"""One proxied request: sent to a replica, its answer streamed back — driven by callbacks, not a task.

The common case costs no coroutine at all: a slot is free and a pooled connection is idle, so the request
goes out inside the client's data callback and the answer comes back through the upstream's. Only the
slow paths (waiting in the deployment's queue, opening a connection) run as tasks. The router's sweep
enforces request_timeout_ms, so a request does not need a timer of its own.

The client side feeds the request body in and the upstream side (upstream.Upstream) the answer out; the
exchange sees the router and the client only through the narrow seams in seams.py. Bodies stream through;
only a copy of small bodies is kept, so a request whose connection failed before any answer can go once
more to another replica.
"""

from __future__ import annotations

import json
import time

from mlk.http import admission
from mlk.http.head import response_head
from mlk.router import upstream as pool
from mlk.router.headers import relayed_fields, request_head
from mlk.router.ids import request_id
from mlk.router.seams import Downstream, Routing
from mlk.router.state import Deployment, Replica
from mlk.router.upstream import Upstream

RETRY_BODY_LIMIT = 1024 * 1024
BUSY_BACKOFF_FIRST = 0.002  # a replica another router filled: retry after 2 ms, doubling up to 50 ms
BUSY_BACKOFF_MAX = 0.05
CONNECT_TIMEOUT = 3.0
UNKNOWN = "-"
"""The endpoint or deployment label (and log field) of a request for a name that is not routed: clients
choose names, not metric label values."""
NO_BODY = frozenset({204, 304})
"""Answers that never have a body, whatever framing the replica sent (RFC 9110 §6.4.1)."""
_BUSY = admission.BUSY_HEADER.encode()
_ADMISSION = admission.REQUEST_HEADER.encode()


class Exchange:
    def __init__(
        self,
        router: Routing,
        client: Downstream,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        special: dict[bytes, bytes] | None = None,
        *,
        http10: bool = False,
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
        self.http10 = http10
        """An HTTP/1.0 client cannot read a chunked answer: one without a length ends with the connection."""
        self.continue_owed = False
        """The client waits for a 100 Continue before its body (set and sent by the client side)."""
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
        self.router.forwarding(self)
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
        head, self.request_chunked = request_head(
            self.method, self.path, self.replica.host_header, self.headers, self._added_fields()
        )
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

    def _added_fields(self) -> bytes:
        """The router's own lines in a forwarded request: its id, the replica token, the admission limit."""
        added = b"x-request-id: %s\r\n%s" % (self.request_id.encode(), self.router.peer_header)
        if self.deployment is not None:
            added += b"%s: %d\r\n" % (_ADMISSION, self.deployment.concurrency)
        return added

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
        self.router.counted(self, "retry")
        self._dispatch()

    def _bounce(self) -> None:
        """Another router filled the replica (mlk.http.admission): try a replica with room, else wait and
        send again, for at most max_queue_wait_ms since the request arrived."""
        self.bounced = False
        self.bounces += 1
        deployment, replica = self.deployment, self.replica
        assert deployment is not None and replica is not None
        self.router.counted(self, "busy")
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
        self.router.later(delay, self._resend)

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
        lines, length = relayed_fields(headers)
        lines.append(b"x-request-id: %s\r\n" % self.request_id.encode())
        if self.deployment is not None:
            lines.append(b"azureml-model-deployment: %s\r\n" % self.deployment.name.encode())
        framing = None
        if length is not None and not chunked:
            framing = b"Content-Length: " + length
        elif self.head_only or status in NO_BODY:
            pass  # no body follows, so none to frame
        elif self.http10:
            self.keep_alive = False  # the body ends when the connection does
        else:
            self.rechunk = True
            framing = b"Transfer-Encoding: chunked"
        self.client.write(response_head(self.status, b"".join(lines), framing, keep_alive=self.keep_alive))

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

    def client_writable(self, writable: bool) -> None:
        """The client reads slower than the replica answers (False), or caught up: hold the replica back."""
        if self.upstream is None:
            return
        if writable:
            self.upstream.resume_reading()
        else:
            self.upstream.pause_reading()

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
        fields = b"Content-Type: %s\r\nx-request-id: %s\r\n" % (content_type, self.request_id.encode())
        head = response_head(status, fields, b"Content-Length: %d" % len(body), keep_alive=self.keep_alive)
        self.client.write(head if self.head_only else head + body)
        self.client.flush()
        if self.replica is None:
            self._settle()

    def _settle(self) -> None:
        """The exchange is over: give the slot back, count it, let the connection go on."""
        if self.settled:
            return
        self.settled = True
        if self.replica is not None and self.deployment is not None:
            self.deployment.release(self.replica)
        self.router.finished(self)
        self.client.exchange_done(self)
