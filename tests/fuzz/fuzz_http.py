"""Fuzz target: `mlk serve`'s HTTP/1.1 request parsing (mlk.http.protocol.HttpProtocol).

The first byte of the input says how the rest arrives (see harness.reads); the rest is what a client sent
on one connection. The app answers by path: at once, through a future or a coroutine, as a chunked stream,
by raising, or wrongly (not a Response). Invariants: nothing escapes data_received or the loop's callbacks;
every byte written back is a well-formed HTTP/1.1 response (harness.ResponseStream); header and body
buffers stay under the limits; a connection paused for pipelining is resumed once its queue drains.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable

from mlk.http.limits import Limits
from mlk.http.message import Request, Response, StreamingResponse, json_response
from mlk.http.protocol import ConnectionSet, Handler, HttpProtocol
from tests.fuzz.harness import FakeTransport, check, check_writes, event_loop, mark_rejects, reads, settle, turns

LIMITS = Limits(max_header_bytes=1024, max_body_bytes=4096)
MAX_LEN = 8192


def _echo(request: Request) -> Response:
    body = json.dumps(
        {"method": request.method, "path": request.path, "query": request.query, "length": len(request.body)}
    ).encode()
    # As the scoring server does: the client's request id comes back in a response header.
    return Response(200, body, [("x-request-id", request.headers.get("x-request-id", "-"))], "application/json")


def _app(loop: asyncio.AbstractEventLoop, methods: deque[str]) -> Handler:
    def handler(request: Request) -> Response | Awaitable[Response]:
        methods.append(request.method)
        path = request.path
        if path.startswith("/raise"):
            raise RuntimeError("the app failed")
        if path.startswith("/future"):
            future: asyncio.Future[Response] = loop.create_future()
            loop.call_soon(future.set_result, _echo(request))
            return future
        if path.startswith("/coro"):
            return _later(request)
        if path.startswith("/wrong"):
            return _wrong()
        if path.startswith("/stream"):
            return _stream(request)
        if path.startswith("/big"):
            return json_response(200, {"data": "x" * 5000})
        return _echo(request)

    return handler


async def _later(request: Request) -> Response:
    await asyncio.sleep(0)
    return _echo(request)


async def _wrong() -> Response:
    return None  # type: ignore[return-value]  # a broken app: the protocol must still answer


def _stream(request: Request) -> StreamingResponse:
    parts = deque([b"first", b"", request.body[:64], b"last"])

    async def next_chunk() -> bytes | None:
        await asyncio.sleep(0)
        return parts.popleft() if parts else None

    return StreamingResponse(200, [("Content-Type", "text/plain")], next_chunk, parts.clear)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    chunks, between = reads(data[0], data[1:])
    with event_loop() as (loop, errors):
        methods: deque[str] = deque()
        connections = ConnectionSet()
        protocol = HttpProtocol(_app(loop, methods), LIMITS, connections)
        transport = FakeTransport(loop)
        transport.attach(protocol)
        mark_rejects(protocol, transport)

        async def run() -> None:
            queue = deque(chunks)
            while queue and not transport.closed:
                if transport.paused:  # a real socket is not read while paused: let the answers drain
                    await settle(loop)
                    check(not transport.stalled(), "reading paused for good")
                    continue
                protocol.data_received(queue.popleft())
                _bounded(protocol)
                await turns(between)
            await settle(loop)
            protocol.check_deadline(float("inf"))  # the client stops here: a request left half-read gets 408
            await settle(loop)
            if not transport.closed:
                transport.close()
            await settle(loop)

        loop.run_until_complete(run())
    check(not errors, f"the loop's exception handler was called: {errors}")
    check_writes(transport, deque(methods))


def _bounded(protocol: HttpProtocol) -> None:
    """The buffers a client fills stay within the limits (or the request is being rejected)."""
    if protocol.closing:
        return
    meter, depth = protocol.meter, LIMITS.max_pipelined
    check(meter.header_bytes <= LIMITS.max_header_bytes, f"{meter.header_bytes} header bytes buffered")
    check(meter.body_bytes <= LIMITS.max_body_bytes, f"{meter.body_bytes} body bytes buffered")
    check(sum(map(len, protocol.body_parts)) <= LIMITS.max_body_bytes, "body parts over the limit")
    pipelined = sum(len(r.body) for r in protocol.pipeline)
    check(len(protocol.pipeline) < depth or protocol.paused, f"{len(protocol.pipeline)} requests queued, still reading")
    check(pipelined <= depth * LIMITS.max_body_bytes + MAX_LEN, f"{pipelined} bytes of queued bodies")
