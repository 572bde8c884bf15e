"""Faults under load with real processes: a replica killed, traffic shifted by a reload, the CLI's reload."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.router.fakes import KEY, endpoint
from tests.server.harness import Server, free_port, mlk_serve, request

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {KEY}"}
SCORE = "/api/v1/endpoint/my-endpoint/score"


class Load:
    """Clients in threads posting until stopped; every answer (or connection error) is recorded."""

    def __init__(self, port: int, clients: int = 4, body: str = "str") -> None:
        self.port, self.body = port, body
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self.deployments: list[str] = []
        self.running = True
        self.threads = [threading.Thread(target=self._client) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _client(self) -> None:
        while self.running:
            try:
                reply = request(self.port, "POST", SCORE, self.body, AUTH, timeout=10)
                self.statuses.append(reply.status)
                self.deployments.append(reply.header("azureml-model-deployment") or "")
            except OSError as exc:
                self.errors.append(repr(exc))

    def stop(self) -> None:
        self.running = False
        for t in self.threads:
            t.join()


def _router(config: Path, port: int) -> Server:
    return Server(
        [sys.executable, "-m", "mlk", "router", "--config", str(config), "--port", str(port)], port, cwd=config.parent
    )


def _wait_router(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("router did not start")


def test_kill_a_replica_and_shift_traffic_under_load(tmp_path: Path) -> None:
    settings = {"max_concurrent_requests_per_instance": 4, "max_queue_wait_ms": 2000}
    with mlk_serve("echo.py") as blue1, mlk_serve("echo.py") as blue2, mlk_serve("echo.py") as green:
        file = tmp_path / "router.yml"

        def write(blue: int, green_share: int) -> None:
            file.write_text(
                yaml.safe_dump(
                    {
                        "endpoints": [
                            endpoint(
                                blue={
                                    "replicas": [f"http://127.0.0.1:{blue1.port}", f"http://127.0.0.1:{blue2.port}"],
                                    "traffic": blue,
                                    "settings": settings,
                                },
                                green={
                                    "replicas": [f"http://127.0.0.1:{green.port}"],
                                    "traffic": green_share,
                                    "settings": settings,
                                },
                            )
                        ]
                    }
                )
            )

        write(100, 0)
        port = free_port()
        router = _router(file, port).start(wait=False)
        try:
            _wait_router(port)
            load = Load(port)
            time.sleep(1)
            assert blue1.process is not None
            os.killpg(blue1.process.pid, signal.SIGKILL)  # no goodbye: connections just die
            time.sleep(1.5)
            write(0, 100)  # shift everything to green while requests keep coming
            time.sleep(1.5)
            load.stop()
        finally:
            router.stop()
    assert load.errors == []  # no client saw a connection error
    failed = [s for s in load.statuses if s != 200]
    assert len(failed) <= settings["max_concurrent_requests_per_instance"]  # at most those on the killed replica
    assert load.deployments[-20:] == ["green"] * 20
    assert len(load.statuses) > 200


def test_cli_refuses_an_invalid_file_and_reloads_on_sighup(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("endpoints:\n  - name: x\n")
    refused = _router(bad, free_port()).start(wait=False)
    assert refused.process is not None and refused.process.wait(timeout=30) == 2
    refused.stop()
    assert "bad.yml:2:11: $.endpoints[0].name: 'x' is not a valid name" in refused.output
    with mlk_serve("echo.py") as replica:
        good = tmp_path / "router.yml"
        good.write_text(
            yaml.safe_dump(
                {"endpoints": [endpoint(blue={"replicas": [f"http://127.0.0.1:{replica.port}"], "traffic": 0})]}
            )
        )
        port = free_port()
        router = _router(good, port).start(wait=False)
        try:
            _wait_router(port)
            assert request(port, "POST", SCORE, "str", AUTH).status == 404  # no traffic yet
            good.write_text(good.read_text().replace("blue: 0", "blue: 100"))
            assert router.process is not None
            os.kill(router.process.pid, signal.SIGHUP)
            deadline = time.monotonic() + 5
            while request(port, "POST", SCORE, "str", AUTH).status != 200 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert request(port, "POST", SCORE, "str", AUTH).body == b'"hello"'
        finally:
            assert router.stop() == 0
    assert "my-endpoint/blue" in router.output and KEY not in router.output  # access log, never the key
