"""The two protocols under one face: a client connection to `mlk serve`'s HttpProtocol, or to the router's
ClientProtocol in front of a replica that runs the same app on an HttpProtocol of its own.

Both answer with the same app, so whatever differs between the two is the protocols' doing. The app
echoes what it was sent; a query naming `hold` is answered only once `release()` is called, `stream`
answers with a StreamingResponse.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import pytest

from mlk.http.limits import Limits
from mlk.http.message import Request, Response, StreamingResponse
from mlk.http.protocol import ConnectionSet, HttpProtocol
from mlk.router import upstream as pool
from mlk.router.config import DeploymentConfig, EndpointConfig, RequestSettings, RouterConfig
from mlk.router.proxy import ClientProtocol
from mlk.router.service import Router
from mlk.router.state import Replica
from mlk.router.upstream import Upstream
from tests.http.fakes import Answer, ClientTransport, Link, read_answers

Kind = Literal["server", "router"]
KINDS: tuple[Kind, ...] = ("server", "router")
LIMITS = Limits(max_header_bytes=1024, max_body_bytes=4096)
KEY = "k"
SETTINGS = RequestSettings(request_timeout_ms=60_000, max_concurrent_requests_per_instance=1, max_queue_wait_ms=60_000)
CONFIG = RouterConfig(
    {
        "ep": EndpointConfig(
            "ep",
            "key",
            (KEY,),
            traffic={"blue": 100},
            deployments={"blue": DeploymentConfig("blue", ("http://10.0.0.1:5001",), SETTINGS)},
        )
    }
)


class App:
    """The app both protocols serve: the echo, held answers and streams."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.held: list[tuple[asyncio.Future[Response], Response]] = []

    def __call__(self, request: Request) -> Response | asyncio.Future[Response]:
        echo = {"method": request.method, "query": request.query, "length": len(request.body)}
        answer = Response(200, json.dumps(echo).encode(), content_type="application/json")
        if "stream" in request.query:
            parts = deque([b"first", b"second"])

            async def next_chunk() -> bytes | None:
                return parts.popleft() if parts else None

            return StreamingResponse(200, [("Content-Type", "text/plain")], next_chunk, parts.clear)
        if "hold" not in request.query:
            return answer
        future: asyncio.Future[Response] = self.loop.create_future()
        self.held.append((future, answer))
        return future

    def release(self) -> None:
        held, self.held = self.held, []
        for future, answer in held:
            future.set_result(answer)


class Conn:
    """One client connection to the protocol of `kind`, fed bytes by the test."""

    def __init__(self, kind: Kind, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> None:
        self.kind = kind
        self.loop = loop
        self.app = App(loop)
        self.connections = ConnectionSet()
        self.transport = ClientTransport(loop)
        self.protocol: HttpProtocol | ClientProtocol
        if kind == "server":
            self.protocol = HttpProtocol(self.app, LIMITS, self.connections)
            self.path, self.auth = b"/score", b""
        else:
            monkeypatch.setattr(pool, "connect", self._connect)
            self.router = Router(loop, CONFIG, access_log=False)
            self.protocol = ClientProtocol(self.router, LIMITS, self.connections)
            self.path, self.auth = b"/api/v1/endpoint/ep/score", b"Authorization: Bearer %s\r\n" % KEY.encode()
        self.transport.attach(self.protocol)

    async def _connect(self, replica: Replica, timeout: float) -> Upstream:
        """mlk.router.upstream.connect: a replica in memory, the app on mlk serve's protocol."""
        near, far = Link.pair(self.loop)
        upstream = Upstream(replica)
        near.attach(upstream)
        far.attach(HttpProtocol(self.app, Limits(), ConnectionSet()))
        return upstream

    # --- the client's side --------------------------------------------------------------------------------
    def request(
        self,
        method: bytes = b"GET",
        query: bytes = b"",
        headers: bytes = b"",
        body: bytes = b"",
        version: bytes = b"1.1",
    ) -> bytes:
        """A request to the app, with what the target needs (the router's scoring path, a key)."""
        target = self.path + (b"?" + query if query else b"")
        return b"%s %s HTTP/%s\r\nHost: x\r\n%s%s\r\n%s" % (method, target, version, self.auth, headers, body)

    def send(self, *data: bytes) -> None:
        """Each piece as one read from the socket, the loop run until quiet after each."""
        for piece in data:
            self.call(self.protocol.data_received, piece)

    def call(self, method: Callable[..., None], *args: Any) -> None:
        """Call a protocol's method from inside the loop, as asyncio does, and run the loop until quiet."""
        self.loop.call_soon(method, *args)
        self.settle()

    def settle(self) -> None:
        async def quiet() -> None:
            me = asyncio.current_task()
            for _ in range(1000):
                await asyncio.sleep(0)
                busy = [t for t in asyncio.all_tasks(self.loop) if t is not me and not t.done()]
                if not busy and not getattr(self.loop, "_ready", None):
                    return

        self.loop.run_until_complete(quiet())

    def answers(self, *methods: str) -> list[Answer]:
        return read_answers(bytes(self.transport.written), list(methods))

    def statuses(self, *methods: str) -> list[int]:
        return [answer.status for answer in self.answers(*methods)]

    @property
    def closed(self) -> bool:
        return self.transport.closed

    @property
    def paused(self) -> bool:
        return self.transport.paused
