"""scripts/fuzz: run the fuzz targets for a while each, and report executions and crashes per target.

Each target runs as its own atheris process (`python -m tests.fuzz.run TARGET`), seeded from
tests/fuzz/corpus/TARGET and its dictionary, growing a working corpus under the output folder (kept between
runs, so longer campaigns build on shorter ones). libFuzzer stops at the first crash; the target is then
started again for the time left, so one run can find several. Crash inputs land in OUT/TARGET/crashes/;
a crash that is a real bug becomes a regression input in tests/fuzz/crashes/TARGET/ (test_fuzz.py replays it).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.run import TARGETS, target

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-")
MAX_STARTS = 25


@dataclass
class Outcome:
    name: str
    executions: int = 0
    seconds: float = 0.0
    crashes: list[Path] = field(default_factory=list)
    signatures: dict[str, Path] = field(default_factory=dict)
    """One crash input per distinct failure (exception and the line it came from)."""
    logs: list[Path] = field(default_factory=list)


def _signature(log: str) -> str:
    """What failed and where: the exception line and the innermost frame of atheris's report."""
    if "libFuzzer: timeout" in log:
        return "timeout"
    if "out-of-memory" in log:
        return "out of memory"
    report = log.split("=== Uncaught Python exception: ===", 1)
    if len(report) < 2:
        deadly = re.search(r"ERROR: libFuzzer: (.*)", log)
        return deadly[1] if deadly else "crash (see the log)"
    lines = report[1].strip().splitlines()
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    frames = [f for f in frames if "tests/fuzz/harness.py" not in f] or frames  # where the check was made
    return f"{lines[0] if lines else '?'} at {frames[-1] if frames else '?'}"


def fuzz(name: str, seconds: float, out: Path) -> Outcome:
    outcome = Outcome(name)
    work = out / name
    corpus, crashes = work / "corpus", work / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    seeds = HERE / "corpus" / name
    dictionary = HERE / "dicts" / f"{name}.dict"
    max_len = target(name).MAX_LEN
    started = time.monotonic()
    for start in range(MAX_STARTS):
        left = int(seconds - (time.monotonic() - started))
        if left < 1:
            break
        before = {p.name for p in crashes.iterdir()}
        log_file = work / f"log-{start}.txt"
        command = [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            name,
            f"-max_total_time={left}",
            f"-max_len={max_len}",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
            f"-artifact_prefix={crashes}/",
            *([f"-dict={dictionary}"] if dictionary.is_file() else []),
            str(corpus),
            *([str(seeds)] if seeds.is_dir() else []),
        ]
        with log_file.open("w") as log:
            try:
                subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=left + 120, check=False)
            except subprocess.TimeoutExpired:
                log.write("\nERROR: libFuzzer: the fuzzer overran its time and was killed\n")
        outcome.logs.append(log_file)
        text = log_file.read_text(errors="replace")
        runs = re.findall(r"stat::number_of_executed_units: (\d+)", text) or re.findall(r"Done (\d+) runs", text)
        outcome.executions += int(runs[-1]) if runs else 0
        new = sorted(p for p in crashes.iterdir() if p.name not in before and p.name.startswith(ARTIFACTS))
        if not new:
            if "ERROR: libFuzzer" in text or ("Traceback" in text and "Done" not in text):
                outcome.signatures.setdefault(_signature(text), log_file)
            continue
        outcome.crashes.extend(new)
        outcome.signatures.setdefault(_signature(text), new[0])
    outcome.seconds = time.monotonic() - started
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"some of: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=60, help="how long each target runs (default 60)")
    parser.add_argument("--jobs", type=int, default=0, help="targets run at once (default: one per CPU)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("MLK_FUZZ_OUT", "/tmp/mlk-fuzz")),
        help="working corpus, crash inputs and logs (default $MLK_FUZZ_OUT or /tmp/mlk-fuzz)",
    )
    args = parser.parse_args(argv)
    names = args.targets or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; targets: {', '.join(TARGETS)}")
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed: scripts/setup installs it (Linux only)", file=sys.stderr)
        return 2
    out = args.out.resolve()
    jobs = args.jobs or min(len(names), os.cpu_count() or 1)
    print(f"fuzzing {', '.join(names)} for {args.seconds:g} s each, {jobs} at a time; output in {out}", flush=True)
    for name in names:  # imported here, one after another: imports racing in the pool's threads can each
        target(name)  # meet the other's half-initialised module
    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(lambda n: fuzz(n, args.seconds, out), names))
    failed = False
    for o in outcomes:
        failures = len(o.signatures)
        failed |= failures > 0
        print(
            f"{o.name:9} {o.executions:>10,} executions in {o.seconds:5.0f} s   "
            f"{len(o.crashes)} crash input(s), {failures} distinct failure(s)"
        )
        for signature, where in o.signatures.items():
            print(f"    {signature}\n      -> {where}")
    total = sum(len(o.signatures) for o in outcomes)
    print(f"{'FAILED' if failed else 'OK'}: {total} distinct failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
