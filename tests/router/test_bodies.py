"""Request bodies at the router: a body it has answered already is dropped as it comes, a body over the
limit is a 413 of its own, and large bodies stream to replicas — the router's memory stays flat throughout.

The router runs as `mlk router` in a process of its own, so its peak resident memory (VmHWM) is its own.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.router.fakes import KEY, Replica, RouterProcess, config, endpoint
from tests.server.harness import request

MB = 1024 * 1024
SCORE = "/api/v1/endpoint/my-endpoint/score"
GROWTH_LIMIT = 50 * MB


@pytest.fixture
def start_router(runner, tmp_path: Path) -> Iterator:
    started: list[RouterProcess] = []
    replica = Replica(runner)
    cfg = config(tmp_path / "router.yml", [endpoint(blue={"replicas": [replica.url], "traffic": 100})])

    def start(*flags: str) -> RouterProcess:
        started.append(RouterProcess(cfg, *flags, log=tmp_path / f"router-{len(started)}.log"))
        return started[-1]

    yield start
    for router in started:
        router.stop()
    replica.stop()


def _upload(port: int, head: bytes, size: int, chunked: bool = False) -> tuple[bytes, int]:
    """Send `head` then `size` bytes of body, 1 MB at a time, reading whatever comes back meanwhile; the
    answer and how many body bytes went out before the router closed (if it did)."""
    piece = b"x" * MB
    answer = b""
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(head)
        conn.setblocking(False)
        try:
            while sent < size:
                chunk = piece[: min(MB, size - sent)]
                data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                conn.setblocking(True)
                conn.sendall(data)
                sent += len(chunk)
                conn.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    answer += conn.recv(65536)
            if chunked:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        conn.setblocking(True)
        conn.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                more = conn.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError):
            pass
    return answer, sent


def test_bodies_of_requests_answered_already_are_dropped_not_stored(start_router) -> None:
    router = start_router("--max-body-size", str(2 * 1024 * MB))
    before = router.rss()
    size = 300 * MB
    for path, auth, status in (
        (SCORE, b"", b"401"),  # no key
        (b"/api/v1/endpoint/" + b"n" * 100 + b"/score", b"", b"404"),  # no such endpoint
    ):
        target = path if isinstance(path, bytes) else path.encode()
        head = b"POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (target, auth, size)
        answer, sent = _upload(router.port, head, size)
        assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
        assert sent == size  # read to its end (the connection stays usable), none of it kept
    assert router.peak() - before < GROWTH_LIMIT, f"peak {router.peak() / MB:.0f} MB from {before / MB:.0f} MB"
    assert request(router.port, "POST", SCORE, "hi", {"Authorization": f"Bearer {KEY}"}).status == 200


def test_bodies_over_the_limit_get_413_from_the_router(start_router) -> None:
    router = start_router("--max-body-size", str(MB))
    auth = b"Authorization: Bearer %s\r\n" % KEY.encode()
    declared = b"POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (SCORE.encode(), auth, 5 * MB)
    answer, _ = _upload(router.port, declared, 0)  # refused from the Content-Length alone
    assert answer.startswith(b"HTTP/1.1 413") and b"larger than 1048576 bytes" in answer
    streamed = b"POST %s HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" % (SCORE.encode(), auth)
    answer, sent = _upload(router.port, streamed, 50 * MB, chunked=True)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 50 * MB  # the router closed the connection: the client could not send it all
    no_key = b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" % SCORE.encode()
    answer, sent = _upload(router.port, no_key, 50 * MB, chunked=True)  # answered 401 at once, then too large
    assert answer.startswith(b"HTTP/1.1 401") and answer.count(b"HTTP/1.1") == 1, answer[:300]
    assert sent < 50 * MB  # closed at the limit, without a second status line
    ok = request(router.port, "POST", SCORE, "x" * (MB // 2), {"Authorization": f"Bearer {KEY}"})
    assert ok.status == 200 and b'"length": 524288' in ok.body


def test_large_bodies_stream_to_replicas_in_bounded_memory(start_router) -> None:
    router = start_router()
    before = router.rss()
    size = 20 * MB
    auth = b"Authorization: Bearer %s\r\n" % KEY.encode()
    for _ in range(3):
        head = b"POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (SCORE.encode(), auth, size)
        answer, _ = _upload(router.port, head, size)
        assert answer.startswith(b"HTTP/1.1 200") and b'"length": %d' % size in answer, answer[:300]
    assert router.peak() - before < GROWTH_LIMIT
