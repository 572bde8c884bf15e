"""Benchmark: CLI start-up and validation speed, side by side with azure-ai-ml's loader, in one run.

    .venv/bin/python scripts/bench_cli.py [--runs 15]

Prints the median wall time (of whole processes, as a user waits for them) of:
  - `mlk --help`
  - `mlk validate -f examples/blue.yml`
  - azure-ai-ml's `load_online_deployment("examples/blue.yml")` (in .refenv, as `az ml` would load it)
and the ratio of the last two. Goals (issue 2): --help <= 150 ms; validate >= 4x faster than azure-ai-ml.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv/bin"
REF = REPO / ".refenv/bin/python"
FILE = "examples/blue.yml"


# Users' Pythons cache bytecode; a sandbox with PYTHONDONTWRITEBYTECODE=1 would time the compiler instead.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_ms(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, cwd=REPO, capture_output=True, check=True, env=ENV)  # warm page cache, write .pyc
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, capture_output=True, check=True, env=ENV)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    rows: list[tuple[str, float]] = []
    rows.append(("python -c pass (interpreter floor)", median_ms([str(VENV / "python"), "-c", "pass"], runs)))
    rows.append(("mlk --help", median_ms([str(VENV / "mlk"), "--help"], runs)))
    rows.append((f"mlk validate -f {FILE}", median_ms([str(VENV / "mlk"), "validate", "-f", FILE], runs)))
    if REF.exists():
        code = (
            "import logging,warnings; warnings.filterwarnings('ignore'); logging.disable(50)\n"
            f"from azure.ai.ml import load_online_deployment; load_online_deployment({FILE!r})"
        )
        rows.append((f"azure-ai-ml load_online_deployment({FILE})", median_ms([str(REF), "-c", code], runs)))
    else:
        print(f"(azure-ai-ml absent: {REF}; run scripts/setup --reference)", file=sys.stderr)
    width = max(len(name) for name, _ in rows)
    print(f"{'command':<{width}}  median ms ({runs} runs)")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.1f}")
    if len(rows) == 4:
        print(f"\nvalidate speed-up over azure-ai-ml: {rows[3][1] / rows[2][1]:.1f}x (goal >= 4x)")
    print(f"mlk --help: {rows[1][1]:.0f} ms (goal <= 150 ms)")


if __name__ == "__main__":
    main()
