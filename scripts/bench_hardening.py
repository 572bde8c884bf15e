"""Benchmark: what hostile clients and files cost mlk (issue 11's figures), on the embedded default.

    .venv/bin/python scripts/bench_hardening.py

1. Router bodies: the workspace agent (it hosts the router) under a 1 GB POST without a key, four 400 MB
   POSTs at once without a key (chunked, so the router reads them), then ten 20 MB bodies that go through
   to a replica. Goal: the agent's peak RSS (VmHWM) stays within +50 MB of its resting RSS.
2. YAML bombs: `mlk validate` of the 475-byte, 7-level alias bomb. Goal: exit 2 in < 1 s and < 100 MB.
3. Amplification: 2,000 requests naming 2,000 different 60 KB endpoints, then 2,000 more without a key.
   Goal: /metrics and agent.log each grow by < 1 MB.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLK = str(REPO / ".venv/bin/mlk")
APP = REPO / "tests/local/app"
MB = 1024 * 1024
SCORE = "/api/v1/endpoint/test-endpoint/score"
BOMB = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 8)]
)


def mlk(*args: str, env: dict[str, str], cwd: Path = APP) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLK, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def upload(port: int, head: bytes, size: int, chunked: bool, opening: bytes = b"") -> str:
    """Send a request whose body is `opening` then x up to `size` bytes, reading what comes back; the
    status line."""
    piece = b"x" * MB
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(head + opening)
        sent = len(opening)
        try:
            while sent < size:
                data = piece[: min(MB, size - sent)]
                conn.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if opening:
                conn.sendall(b'"}')
            if chunked:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        conn.settimeout(10)
        try:
            while b"\r\n" not in answer:
                more = conn.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError):
            pass
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    return f"{line} after {sent / MB:.0f} MB sent"


def bodies(port: int, key: str, agent: int) -> list[str]:
    rows = []
    resting = memory(agent, "VmRSS")
    rows.append(f"agent resting RSS: {resting / MB:.1f} MB")
    no_key = b"POST %s HTTP/1.1\r\nHost: x\r\n" % SCORE.encode()
    outcome = upload(port, no_key + b"Content-Length: %d\r\n\r\n" % (1024 * MB), 1024 * MB, chunked=False)
    rows.append(f"1 GB POST, no key (Content-Length): {outcome}")
    outcomes: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(
                upload(port, no_key + b"Transfer-Encoding: chunked\r\n\r\n", 400 * MB, chunked=True)
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows.append(f"4 × 400 MB POSTs at once, no key (chunked): {'; '.join(sorted(set(outcomes)))}")
    auth = b"Authorization: Bearer %s\r\n" % key.encode()
    json_head = no_key + auth + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (20 * MB + 2)
    statuses = [  # {"pad": "xxx…x"}: 20 MB of JSON that score.py reads
        upload(port, json_head, 20 * MB, chunked=False, opening=b'{"pad": "').split(" ")[1] for _ in range(10)
    ]
    rows.append(f"10 × 20 MB POSTs with the key, to the replica: statuses {sorted(set(statuses))}")
    peak = memory(agent, "VmHWM")
    verdict = "ok" if peak - resting < 50 * MB else "OVER"
    grown = (peak - resting) / MB
    rows.append(f"agent peak RSS: {peak / MB:.1f} MB = resting + {grown:.1f} MB (goal < +50 MB: {verdict})")
    return rows


def bomb(env: dict[str, str], folder: Path) -> list[str]:
    path = folder / "bomb.yml"
    path.write_text(BOMB)
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "rc = subprocess.run(sys.argv[1:], capture_output=True).returncode; "
        "print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, MLK, "validate", "-f", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rc, seconds, kib = out.stdout.split()
    ok = rc == "2" and float(seconds) < 1 and int(kib) < 100 * 1024
    return [
        f"{len(BOMB)}-byte 7-level alias bomb: exit {rc} in {float(seconds):.2f} s, peak {int(kib) / 1024:.0f} MB "
        f"(goal: exit 2, < 1 s, < 100 MB: {'ok' if ok else 'OVER'})"
    ]


def flood(port: int, template: str, count: int = 2000) -> int:
    """`count` pipelined GETs, each with its own 60 KB name put in `template`; the answers read."""
    answers = 0
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(30)
        for start in range(0, count, 50):
            names = (f"{i:05d}" + "n" * 60_000 for i in range(start, start + 50))
            conn.sendall(b"".join(f"GET {template.format(n)} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in names))
            while answers < start + 50:
                answers += conn.recv(1 << 20).count(b"HTTP/1.1 ")
    return answers


def amplification(port: int, log: Path) -> list[str]:
    def metrics() -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/metrics")
        size = len(conn.getresponse().read())
        conn.close()
        return size

    metrics_before, log_before = metrics(), log.stat().st_size
    started = time.perf_counter()
    answered = flood(port, "/api/v1/endpoint/{}/score") + flood(port, "/api/v1/endpoint/test-endpoint/{}")
    seconds = time.perf_counter() - started
    time.sleep(1.5)  # the log is written in batches, and the count of lines left out once a second
    grown_metrics, grown_log = metrics() - metrics_before, log.stat().st_size - log_before
    verdict = "ok" if max(grown_metrics, grown_log) < MB else "OVER"
    return [
        f"{answered} requests with 60 KB made-up names in {seconds:.1f} s: "
        f"/metrics grew {grown_metrics / 1024:.1f} KB, agent.log {grown_log / 1024:.1f} KB "
        f"(goal < 1 MB each: {verdict})"
    ]


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="mlk-bench-hardening-"))
    env = {**os.environ, "MLK_HOME": str(folder / "home")}
    try:
        for args in (
            ("online-endpoint", "create", "-f", "endpoint.yml", "-o", "none"),
            ("online-deployment", "create", "-f", "blue.yml", "--all-traffic", "-o", "none"),
        ):
            done = mlk(*args, env=env)
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
        shown = json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json", env=env).stdout)
        shown_keys = mlk("online-endpoint", "get-credentials", "-n", "test-endpoint", "-o", "json", env=env)
        keys = json.loads(shown_keys.stdout)
        port = int(shown["scoring_uri"].split(":")[2].split("/")[0])
        runtime = folder / "home/workspaces/default/runtime"
        agent = json.loads((runtime / "status.json").read_text())["agent"]["pid"]
        print("1. router bodies (the workspace agent hosts the router)")
        for row in bodies(port, keys["primaryKey"], agent):
            print("   " + row)
        print("2. YAML bombs")
        for row in bomb(env, folder):
            print("   " + row)
        print("3. amplification")
        for row in amplification(port, runtime / "agent.log"):
            print("   " + row)
    finally:
        mlk("online-endpoint", "delete", "-n", "test-endpoint", "--yes", "-o", "none", env=env)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
