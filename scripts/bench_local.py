"""Benchmark: time from `online-deployment create` to the first 200 from the scoring URI, on the embedded
default, for the examples' scikit-learn deployment — cold (fresh workspace: environment built) and warm
(everything cached) — and the bytes a second create of the unchanged model uploads.

    .venv/bin/python scripts/bench_local.py [--cold-cache]

--cold-cache also empties uv's package cache for the cold run (packages are downloaded from PyPI).
Blob upload throughput (200 MB to Azurite, block-parallel vs one plain call): scripts/bench_storage.py.
Goal (issue 5): warm time-to-first-score <= 5 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLK = str(REPO / ".venv/bin/mlk")
EXAMPLES = REPO / "examples"


def mlk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLK, *args], cwd=EXAMPLES, env=env, capture_output=True, text=True, check=True)


def first_score(env: dict[str, str]) -> float:
    """Seconds from starting `create --all-traffic` to the first 200 through the router."""
    started = time.perf_counter()
    created = mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic", "-o", "none", env=env)
    shown = json.loads(mlk("online-endpoint", "show", "-n", "my-endpoint", "-o", "json", env=env).stdout)
    key = json.loads(mlk("online-endpoint", "get-credentials", "-n", "my-endpoint", "-o", "json", env=env).stdout)
    port = int(shown["scoring_uri"].split(":")[2].split("/")[0])
    body = (EXAMPLES / "sample-request.json").read_bytes()
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/api/v1/endpoint/my-endpoint/score",
            body,
            {"Authorization": f"Bearer {key['primaryKey']}", "Content-Type": "application/json"},
        )
        status = conn.getresponse().status
        conn.close()
        if status == 200:
            elapsed = time.perf_counter() - started
            break
        time.sleep(0.01)
    lines = created.stderr.strip().splitlines()
    print(f"    create said: {lines[0]} / {next(line for line in lines if line.startswith('environment'))}")
    return elapsed


def model_bytes(stderr: str) -> int:
    found = re.search(r"([\d,]+) bytes uploaded", stderr)
    return int(found[1].replace(",", "")) if found else -1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-cache", action="store_true")
    cold_cache = parser.parse_args().cold_cache
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["MLK_HOME"] = str(Path(tmp) / "home")
        if cold_cache:
            env["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")
        try:
            mlk("online-endpoint", "create", "-f", "endpoint.yml", "-o", "none", env=env)
            print(
                "cold (fresh workspace, environment built"
                + (", packages downloaded)" if cold_cache else ", uv's package cache as it is)")
            )
            cold = first_score(env)
            print(f"    {cold:.2f} s to the first 200")
            mlk("online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=0", env=env)
            mlk("online-deployment", "delete", "-n", "blue", "-e", "my-endpoint", "--yes", env=env)
            print("warm (environment and assets cached)")
            warm = first_score(env)
            print(f"    {warm:.2f} s to the first 200 (goal <= 5 s)")
            again = subprocess.run(
                [MLK, "model", "create", "-n", "bench-model", "-p", "model-1/model"],
                cwd=EXAMPLES,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            second = subprocess.run(
                [MLK, "model", "create", "-n", "bench-model", "-p", "model-1/model"],
                cwd=EXAMPLES,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            print(
                f"model create: first {model_bytes(again.stderr):,} bytes (the deployment had stored that content), "
                f"second, unchanged: {model_bytes(second.stderr):,} bytes (goal 0)"
            )
        finally:
            subprocess.run(
                [MLK, "online-endpoint", "delete", "-n", "my-endpoint", "--yes"],
                cwd=EXAMPLES,
                env=env,
                capture_output=True,
                check=False,
            )


if __name__ == "__main__":
    main()
