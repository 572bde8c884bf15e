"""The router's client side where it has more to do than `mlk serve`'s protocol (tests/http holds what the
two share): the request it reads may be the one it is forwarding, and replicas may frame answers their
own way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mlk.router import upstream as pool
from mlk.router.proxy import ClientProtocol
from mlk.router.state import Replica
from mlk.router.upstream import Upstream
from tests.http.fakes import Link
from tests.http.targets import Conn


@pytest.fixture
def conn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Conn]:
    loop = asyncio.new_event_loop()
    yield Conn("router", loop, monkeypatch)
    loop.close()


def test_a_body_the_router_holds_back_does_not_make_the_client_late(conn: Conn) -> None:
    client = conn.protocol
    assert isinstance(client, ClientProtocol)
    conn.send(conn.request(b"POST", headers=b"Content-Length: 10\r\n", body=b"ab"))  # forwarded, body to come
    conn.call(client.set_reading, False)  # as the exchange does while the replica cannot take more
    conn.call(conn.protocol.check_deadline, float("inf"))
    assert conn.answers() == [] and not conn.closed
    conn.call(client.set_reading, True)  # the client's time to send the rest starts again
    conn.call(conn.protocol.check_deadline, conn.protocol.deadline - 1)
    assert conn.answers() == [] and not conn.closed
    conn.call(conn.protocol.check_deadline, float("inf"))
    assert conn.statuses() == [408] and conn.closed


class _Bodiless(asyncio.Protocol):
    """A replica that answers every request with a status that has no body, and no framing at all."""

    def __init__(self, status: bytes) -> None:
        self.status = status
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        for _ in range(data.count(b"\r\n\r\n")):
            self.transport.write(b"HTTP/1.1 %s\r\nETag: x\r\n\r\n" % self.status)


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_an_answer_without_a_body_gets_no_chunked_framing(
    conn: Conn, monkeypatch: pytest.MonkeyPatch, status: bytes
) -> None:
    async def connect(replica: Replica, timeout: float) -> Upstream:
        near, far = Link.pair(conn.loop)
        upstream = Upstream(replica)
        near.attach(upstream)
        far.attach(_Bodiless(status))
        return upstream

    monkeypatch.setattr(pool, "connect", connect)
    conn.send(conn.request() + conn.request(query=b"again"))
    first, second = conn.answers()
    assert first.status == second.status == int(status[:3])
    assert b"transfer-encoding" not in first.headers and first.headers[b"etag"] == b"x"
    assert bytes(conn.transport.written).count(b"HTTP/1.1 ") == 2 and b"0\r\n\r\n" not in conn.transport.written
    assert not conn.closed
