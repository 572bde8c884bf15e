"""Probes as a kubelet runs them: httpGet (2xx/3xx pass), tcpSocket, exec; periods, thresholds, delays.

Each probe runs on a worker thread (a slow probe must not stall the agent); its state machine is ticked
by the pod's loop and only reads finished results.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="probe")


def _port(value: Any, container: dict[str, Any]) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port["containerPort"])
    raise ValueError(f"named port {value!r} not found")


def run_once(spec: dict[str, Any], container: dict[str, Any], pod_ip: str, pid: int | None) -> bool:
    timeout = float(spec.get("timeoutSeconds", 1))
    if "httpGet" in spec:
        get = spec["httpGet"]
        host, port = get.get("host") or pod_ip, _port(get["port"], container)
        conn_type = http.client.HTTPSConnection if get.get("scheme") == "HTTPS" else http.client.HTTPConnection
        conn = conn_type(host, port, timeout=timeout)
        try:
            headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
            conn.request("GET", get.get("path") or "/", headers={"User-Agent": "kube-probe/1.37", **headers})
            return 200 <= conn.getresponse().status < 400
        finally:
            conn.close()
    if "tcpSocket" in spec:
        tcp = spec["tcpSocket"]
        with socket.create_connection((tcp.get("host") or pod_ip, _port(tcp["port"], container)), timeout=timeout):
            return True
    if "exec" in spec and pid is not None:
        command = ["nsenter", "-t", str(pid), "-n", "-m", "-u", "--", *spec["exec"]["command"]]
        return subprocess.run(command, capture_output=True, timeout=timeout, check=False).returncode == 0
    return True  # grpc probes: not run by the test node agent (said in the README)


@dataclass
class ProbeState:
    """One probe of one container run: passes once successThreshold results agree, fails on failureThreshold."""

    spec: dict[str, Any] | None
    started: float
    passing: bool = False
    failed: bool = False
    _successes: int = 0
    _failures: int = 0
    _next: float = 0.0
    _pending: Future[bool] | None = field(default=None, repr=False)

    def tick(self, container: dict[str, Any], pod_ip: str, pid: int | None, now: float) -> None:
        if self.spec is None:
            self.passing = True
            return
        if self._pending is not None:
            if not self._pending.done():
                return
            try:
                ok = self._pending.result()
            except Exception:  # refused, reset, timed out: a failed probe
                ok = False
            self._pending = None
            if ok:
                self._successes, self._failures = self._successes + 1, 0
                if self._successes >= int(self.spec.get("successThreshold", 1)):
                    self.passing = True
            else:
                self._successes, self._failures = 0, self._failures + 1
                if self._failures >= int(self.spec.get("failureThreshold", 3)):
                    self.passing, self.failed = False, True
        if now < self.started + float(self.spec.get("initialDelaySeconds", 0)) or now < self._next:
            return
        self._next = now + float(self.spec.get("periodSeconds", 10))
        self._pending = POOL.submit(run_once, self.spec, container, pod_ip, pid)


def monotonic() -> float:
    return time.monotonic()
