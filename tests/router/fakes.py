"""Test doubles that speak real HTTP: replicas whose behaviour the request body chooses, and a router
running in a background thread on its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from mlk.http import HttpServer, Request, Response, bind, json_response, new_event_loop
from mlk.router.sources import StaticFileSource


class LoopThread:
    """An event loop in a daemon thread; `call(coro)` runs a coroutine there and waits for it."""

    def __init__(self) -> None:
        self.loop = new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Replica:
    """A fake score server: the body says what to do (sleep:S, status:N, reset, big:N, echo-length)."""

    def __init__(self, runner: LoopThread) -> None:
        self.runner = runner
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[Request] = []
        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = False
        self.server = HttpServer(self.handle)
        runner.call(self.server.start(self.sock))

    async def handle(self, request: Request) -> Response:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        command = request.body.decode(errors="replace")
        if request.path == "/" and request.method == "GET":
            return Response(200, b"Healthy")
        if command.startswith("sleep:"):
            await asyncio.sleep(float(command[6:]))
        if command.startswith("status:"):
            return json_response(int(command[7:]), {"message": "model said no"})
        if command.startswith("big:"):
            return Response(200, b"x" * int(command[4:]), content_type="application/octet-stream")
        if command == "reset":
            raise ConnectionResetError  # HttpProtocol answers 500: use `stop()` for a dead replica
        return json_response(
            200, {"port": self.port, "path": request.target, "length": len(request.body), "headers": request.headers}
        )

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.runner.call(self.server.shutdown(0.1))

    def restart(self) -> None:
        self.stopped = False
        self.sock = bind("127.0.0.1", self.port)
        self.server = HttpServer(self.handle)
        self.runner.call(self.server.start(self.sock))


def config(path: Path, endpoints: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"endpoints": endpoints}))
    return path


KEY = "primary-key-0123456789"
SECOND = "secondary-key-0123456789"


def endpoint(name: str = "my-endpoint", **deployments: Any) -> dict[str, Any]:
    """endpoint(blue=dict(replicas=[...], traffic=90, settings={...}), ...)"""
    out: dict[str, Any] = {"name": name, "keys": [KEY, SECOND], "traffic": {}, "deployments": []}
    for dep, spec in deployments.items():
        out["traffic"][dep] = spec.get("traffic", 0)
        out["deployments"].append(
            {"name": dep, "replicas": spec["replicas"], "request_settings": spec.get("settings", {})}
        )
    return out


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


class RouterProcess:
    """`mlk router` in a process of its own (its memory is its own), its output in `log`."""

    def __init__(self, config_file: Path, *flags: str, log: Path) -> None:
        from tests.server.harness import request

        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mlk", "router", "-c", str(config_file), "--port", str(self.port), *flags],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.log = log
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.05)
            assert self.process.poll() is None, log.read_text()
        raise AssertionError("the router did not start")

    def rss(self) -> int:
        return _memory(self.process.pid, "VmRSS")

    def peak(self) -> int:
        return _memory(self.process.pid, "VmHWM")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


class RouterThread:
    def __init__(self, runner: LoopThread, config_file: Path) -> None:
        from mlk.http.serve import bind as _bind
        from mlk.router.main import serve

        probe = _bind("127.0.0.1", 0)
        self.port = probe.getsockname()[1]
        probe.close()
        self.source = StaticFileSource(config_file, interval=0.2)
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self.runner = runner
        self.future = asyncio.run_coroutine_threadsafe(
            serve(self.source, "127.0.0.1", self.port, access_log=False, ready=self.ready, stop=self.stopping),
            runner.loop,
        )
        deadline = time.monotonic() + 10
        while not self.ready.is_set() and time.monotonic() < deadline:
            if self.future.done():
                self.future.result()
            time.sleep(0.02)

    def stop(self) -> None:
        self.runner.loop.call_soon_threadsafe(self.stopping.set)
        self.future.result(30)


@contextlib.contextmanager
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    try:
        yield runner
    finally:
        runner.stop()
