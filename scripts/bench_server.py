"""Benchmark: `mlk serve` against Azure's azmlinfsrv, same score.py, same workers, same load generator.

    .venv/bin/python scripts/bench_server.py [--seconds 10] [--connections 16]

Needs wrk (Debian: apt-get install wrk) and the reference environment (scripts/setup --reference).
Cases: a trivial run() and the example's scikit-learn predict, each with 1 and 2 workers. The servers run
one at a time on this machine, with wrk beside them; req/s, p50 and p99 are wrk's. Goals (issue 3): at
least 5x azmlinfsrv's req/s at no worse p99 for the trivial run(), 1.8x for scikit-learn.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLK = [str(REPO / ".venv/bin/python"), "-m", "mlk", "serve"]
AZ = [str(REPO / ".refenv/bin/azmlinfsrv")]
SAMPLE = (REPO / "examples/sample-request.json").read_text()

TRIVIAL = "def init():\n    pass\n\n\ndef run(data):\n    return {'ok': True}\n"


def _wrk_script(folder: Path) -> Path:
    body = SAMPLE.replace("\n", " ").replace("'", "\\'")
    path = folder / "post.lua"
    path.write_text(f"wrk.method = 'POST'\nwrk.body = '{body}'\nwrk.headers['Content-Type'] = 'application/json'\n")
    return path


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(
    command: list[str], script: Path, model_dir: Path, workers: int, seconds: int, connections: int, lua: Path
) -> tuple[float, float, float]:
    port = 5300 + os.getpid() % 500
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    env.pop("PYTHONDONTWRITEBYTECODE")
    args = [
        *command,
        "--entry_script",
        str(script),
        "--model_dir",
        str(model_dir),
        "--port",
        str(port),
        "--worker_count",
        str(workers),
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            args, cwd=script.parent, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait(port, process)
            url = f"http://127.0.0.1:{port}/score"
            subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", str(lua), url], capture_output=True, check=True)
            out = subprocess.run(
                ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)
    if "Non-2xx" in out or "Socket errors" in out:
        print(out, file=sys.stderr)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)$", out, re.M)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M)[1])  # type: ignore[index]
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    if not shutil.which("wrk") or not Path(AZ[0]).exists():
        raise SystemExit("needs wrk (apt-get install wrk) and .refenv (scripts/setup --reference)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "trivial.py").write_text(TRIVIAL)
        lua = _wrk_script(folder)
        cases = [
            ("trivial", folder / "trivial.py", folder),
            ("scikit-learn", REPO / "examples/onlinescoring/score.py", REPO / "examples/model-1"),
        ]
        print(f"wrk -t1 -c{options.connections} -d{options.seconds}s, POST examples/sample-request.json\n")
        print(f"{'case':<14} {'workers':>7} {'server':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for name, script, model_dir in cases:
            for workers in (1, 2):
                results = {}
                for label, command in (("azmlinfsrv", AZ), ("mlk serve", MLK)):
                    results[label] = measure(
                        command, script, model_dir, workers, options.seconds, options.connections, lua
                    )
                    rps, p50, p99 = results[label]
                    print(f"{name:<14} {workers:>7} {label:<11} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f}")
                ratio = results["mlk serve"][0] / results["azmlinfsrv"][0]
                p99_ok = results["mlk serve"][2] <= results["azmlinfsrv"][2]
                print(f"{'':<14} {'':>7} {'ratio':<11} {ratio:>8.1f}x  p99 {'<=' if p99_ok else '>'} azmlinfsrv\n")


if __name__ == "__main__":
    main()
