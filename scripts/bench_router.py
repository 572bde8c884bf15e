"""Benchmark: the router's throughput and added latency, beside direct access and nginx, in one run.

    .venv/bin/python scripts/bench_router.py [--seconds 10]

Upstreams: a minimal fast HTTP app (mlk's HTTP core answering inline) and `mlk serve` with a trivial
score.py. For each: wrk straight to the upstream, through `mlk router` (one process), and through nginx
(one worker, keep-alive upstream pool) — at 16 connections for throughput and 1 connection for latency,
where the router's overhead is its p50/p99 minus direct's. Needs wrk and nginx (Debian packages).
Goals (issue 4): >= 15,000 req/s at 16 connections with no errors; <= +0.25 ms p50, <= +1 ms p99 at 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = str(REPO / ".venv/bin/python")
KEY = "benchmark-key-0123456789"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

FAST_APP = """
import asyncio, sys
from mlk.http import HttpServer, Response, bind, new_event_loop
BODY = b'{"ok": true}'
def handler(request):
    return Response(200, BODY, [("Content-Type", "application/json")])
async def main():
    await HttpServer(handler).start(bind("127.0.0.1", int(sys.argv[1])))
    await asyncio.Event().wait()
new_event_loop().run_until_complete(main())
"""
TRIVIAL = "def init():\n    pass\n\n\ndef run(data):\n    return {'ok': True}\n"
NGINX = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  upstream model {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location /api/v1/endpoint/bench/score {{
      proxy_pass http://model/score;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def start(command: list[str], port: int, cwd: Path, path: str = "/") -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return process
        except urllib.error.HTTPError:
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{command[:3]} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, lua: Path) -> tuple[float, float, float, int]:
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", "-s", str(lua), url], capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Requests/sec" not in out or not re.search(r"99%\s+[\d.]+(us|ms|s)", out):
        raise SystemExit(f"wrk {url} at {connections} connections gave no figures:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors[1]) if errors else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return (
        float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        _ms(re.search(r"^\s+50%\s+(\S+)$", out, re.M)[1]),
        _ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M)[1]),
        failed,
    )  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    seconds = parser.parse_args().seconds
    if not shutil.which("wrk") or not shutil.which("nginx"):
        raise SystemExit("needs wrk and nginx (apt-get install wrk nginx-light)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "app.py").write_text(FAST_APP)
        (tmp / "trivial.py").write_text(TRIVIAL)
        lua = tmp / "post.lua"
        lua.write_text(
            "wrk.method = 'POST'\nwrk.body = '{\"data\": [[1,2,3,4,5,6,7,8,9,10]]}'\n"
            f"wrk.headers['Content-Type'] = 'application/json'\nwrk.headers['Authorization'] = 'Bearer {KEY}'\n"
        )
        upstreams = {
            "fast app": (lambda port: [PY, str(tmp / "app.py"), str(port)], "/score"),
            "mlk serve": (
                lambda port: [
                    PY,
                    "-m",
                    "mlk",
                    "serve",
                    "--entry_script",
                    str(tmp / "trivial.py"),
                    "--port",
                    str(port),
                    "--host",
                    "127.0.0.1",
                ],
                "/score",
            ),
        }
        print(f"wrk -t1, POST of a 40-byte JSON body, {seconds} s per run\n")
        print(f"{'upstream':<10} {'path':<11} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
        for name, (command, path) in upstreams.items():
            port = 5400
            upstream = start(command(port), port, tmp)
            (tmp / "router.yml").write_text(
                "endpoints:\n  - name: bench\n    keys: [" + KEY + "]\n    traffic: {blue: 100}\n    deployments:\n"
                "      - name: blue\n        request_settings: {max_concurrent_requests_per_instance: 64, "
                f"max_queue_wait_ms: 2000}}\n        replicas: ['http://127.0.0.1:{port}']\n"
            )
            router = start(
                [PY, "-m", "mlk", "router", "--config", str(tmp / "router.yml"), "--port", "5401", "--no-access-log"],
                5401,
                tmp,
                "/healthz",
            )
            (tmp / "nginx.conf").write_text(NGINX.format(tmp=tmp, upstream=port, port=5402))
            nginx = start(["nginx", "-c", str(tmp / "nginx.conf")], 5402, tmp)
            try:
                targets = {
                    "direct": f"http://127.0.0.1:{port}{path}",
                    "mlk router": "http://127.0.0.1:5401/api/v1/endpoint/bench/score",
                    "nginx": "http://127.0.0.1:5402/api/v1/endpoint/bench/score",
                }
                results = {}
                for connections in (16, 1):
                    for label, url in targets.items():
                        results[(label, connections)] = r = wrk(url, connections, seconds, lua)
                        print(
                            f"{name:<10} {label:<11} {connections:>5} {r[0]:>9.0f} {r[1]:>8.3f} {r[2]:>8.3f} {r[3]:>7}"
                        )
                d, m, n = (results[(x, 1)] for x in ("direct", "mlk router", "nginx"))
                print(
                    f"{'':<10} router overhead at 1 connection: p50 +{m[1] - d[1]:.3f} ms, p99 +{m[2] - d[2]:.3f} ms "
                    f"(nginx: +{n[1] - d[1]:.3f} / +{n[2] - d[2]:.3f}); router/nginx throughput at 16: "
                    f"{results[('mlk router', 16)][0] / results[('nginx', 16)][0]:.2f}\n"
                )
            finally:
                for process in (nginx, router, upstream):
                    stop(process)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
