"""What a client sends must not decide how much the router writes: names it makes up are not metric labels
and reach the log cut short, and the 401/404 lines it can provoke at will are throttled."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

from tests.router.fakes import KEY, Replica, RouterProcess, config, endpoint
from tests.server.harness import request

REQUESTS = 2000
NAME = "n" * 60_000
GROWTH_LIMIT = 1024 * 1024


def _flood(port: int, target: str, headers: str = "") -> int:
    """REQUESTS pipelined GETs on one connection, each NAME in `target` or `headers` a different one (as
    the issue's 2,000 names); how many answers came back."""
    answers = 0
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(30)
        for start in range(0, REQUESTS, 50):
            batch = []
            for i in range(start, start + 50):
                name = f"{i:05d}{NAME}"
                head = f"GET {target.replace(NAME, name)} HTTP/1.1\r\nHost: x\r\n{headers.replace(NAME, name)}\r\n"
                batch.append(head.encode())
            conn.sendall(b"".join(batch))
            while answers < start + 50:
                data = conn.recv(1 << 20)
                assert data
                answers += data.count(b"HTTP/1.1 ")
    return answers


def test_made_up_names_grow_neither_metrics_nor_log(runner, tmp_path: Path) -> None:
    replica = Replica(runner)
    cfg = config(tmp_path / "router.yml", [endpoint(blue={"replicas": [replica.url], "traffic": 100})])
    router = RouterProcess(cfg, log=tmp_path / "router.log")
    try:
        metrics_before = len(request(router.port, "GET", "/metrics").body)
        log_before = router.log.stat().st_size
        assert _flood(router.port, f"/api/v1/endpoint/{NAME}/score") == REQUESTS  # 404s
        assert _flood(router.port, f"/api/v1/endpoint/my-endpoint/{NAME}") == REQUESTS  # 401s (no key)
        key = f"Authorization: Bearer {KEY}\r\n"
        pinned = f"{key}azureml-model-deployment: {NAME}\r\n"
        assert _flood(router.port, "/api/v1/endpoint/my-endpoint/score", pinned) == REQUESTS  # 404s
        named = f"{key}x-request-id: {NAME}\r\n"
        assert _flood(router.port, "/api/v1/endpoint/my-endpoint/score", named) == REQUESTS  # 200s, logged
        metrics = request(router.port, "GET", "/metrics").body
        assert len(metrics) - metrics_before < GROWTH_LIMIT
        assert NAME[:100].encode() not in metrics
        assert b'endpoint="-",deployment="-",status="404"} 2000' in metrics
        assert b'endpoint="my-endpoint",deployment="-",status="404"} 2000' in metrics
        router.stop()
        log = router.log.read_text()
        assert len(log.encode()) - log_before < GROWTH_LIMIT
        assert "more 401/404 lines left out" in log
    finally:
        router.stop()
        replica.stop()


def test_connections_past_the_cap_get_503_and_the_listener_stays_up(runner, tmp_path: Path) -> None:
    replica = Replica(runner)
    cfg = config(tmp_path / "router.yml", [endpoint(blue={"replicas": [replica.url], "traffic": 100})])
    router = RouterProcess(cfg, "--max-connections", "4", log=tmp_path / "router.log")
    held = []
    try:
        for _ in range(4):
            held.append(socket.create_connection(("127.0.0.1", router.port)))
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", router.port)) as extra:
                extra.settimeout(5)
                answer = extra.recv(4096)
                assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer
                assert extra.recv(4096) == b""  # closed
        held.pop().close()
        deadline = time.monotonic() + 5
        while (status := request(router.port, "GET", "/healthz").status) != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status == 200
        limit = int(
            next(
                line.split()[3]
                for line in Path(f"/proc/{router.process.pid}/limits").read_text().splitlines()
                if line.startswith("Max open files")
            )
        )
        assert limit > 1024  # raised at start to the hard limit

        # The refusals are logged once a second, summed. The health check above may itself have been refused
        # (and retried) if it came before the router saw the released connection close: 3 or more, then.
        def refused() -> int:
            return sum(int(n) for n in re.findall(r"(\d+) connection\(s\) refused with 503", router.log.read_text()))

        deadline = time.monotonic() + 5
        while refused() < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert refused() >= 3
    finally:
        for conn in held:
            conn.close()
        router.stop()
        replica.stop()
