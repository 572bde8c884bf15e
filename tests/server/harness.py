"""Starting real servers on free ports and talking to them over real sockets."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import REPO

SCRIPTS = Path(__file__).resolve().parent / "scripts"
REFERENCE_BIN = Path(os.environ.get("MLK_REFERENCE_PYTHON", REPO / ".refenv/bin/python")).parent
AZMLINFSRV = REFERENCE_BIN / "azmlinfsrv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


@dataclass
class Server:
    """A server process; `output` holds what it printed once stopped."""

    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = SCRIPTS
    process: subprocess.Popen[bytes] | None = None
    output: str = ""
    log: Any = None

    def start(self, wait: bool = True, timeout: float = 30) -> Server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        # a file, not a pipe: a script that prints megabytes must not block on a reader that is not reading
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if wait:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output}")
                try:
                    if request(self.port, "GET", "/", timeout=2).status == 200:
                        return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
            raise RuntimeError(f"server did not become healthy:\n{self.output}")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.process is not None
        if self.log.closed:  # stopped already
            return self.process.returncode
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.seek(0)
        self.output = self.log.read().decode(errors="replace")
        self.log.close()
        return self.process.returncode

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def mlk_serve(script: str, port: int | None = None, *args: str, env: dict[str, str] | None = None) -> Server:
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "mlk",
        "serve",
        "--entry_script",
        str(SCRIPTS / script),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        *args,
    ]
    return Server(command, port, env or {})


def azmlinfsrv(script: str, port: int | None = None, *args: str, env: dict[str, str] | None = None) -> Server:
    port = port or free_port()
    return Server(
        [str(AZMLINFSRV), "--entry_script", str(SCRIPTS / script), "--port", str(port), *args], port, env or {}
    )
