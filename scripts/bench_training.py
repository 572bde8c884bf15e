"""Training jobs, side by side: mlk's job (submit → Running, and end to end) against the same training
script run by hand in the same virtual environment, logging to the same MLflow server.

    .venv/bin/python scripts/bench_training.py [--runs 3] [--compute NAME]

By default the example job (examples/training: scikit-learn on the Iris CSV, metrics and the model through
MLflow) runs on this machine in a fresh MLK_HOME; its environment and the tracking server are made by a
first, untimed job (their cold start is printed too). With --compute, the jobs run on that attached
Kubernetes compute of the current workspace instead (the direct contender then still runs here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples/training"
MLK = [sys.executable, "-m", "mlk"]


def mlk(*args: str) -> str:
    done = subprocess.run([*MLK, *args], cwd=EXAMPLE, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mlk {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def status(name: str) -> str:
    return mlk("job", "show", "-n", name, "--query", "status", "-o", "tsv").strip()


def one_job(name: str, extra: list[str]) -> tuple[float, float, float]:
    """Seconds until `job create` returned, until the job was Running, until it was Completed."""
    started = time.perf_counter()
    mlk("job", "create", "-f", "job.yml", "-n", name, *extra)
    submitted = time.perf_counter() - started
    running = None
    while True:
        now = status(name)
        if running is None and now in ("Running", "Finalizing", "Completed"):
            running = time.perf_counter() - started
        if now in ("Completed", "Failed", "Canceled"):
            if now != "Completed":
                raise SystemExit(f"job {name} ended {now}: {mlk('job', 'show', '-n', name)}")
            return submitted, running or 0.0, time.perf_counter() - started
        time.sleep(0.05)


def direct(python: Path, env: dict[str, str]) -> float:
    """The training script by hand, as a data scientist would run it in the job's environment."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [str(python), "src/train.py", "--data", "data/iris.csv", "--C", "0.8", "--model", f"{out}/model"],
            cwd=EXAMPLE,
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compute", help="an attached Kubernetes compute of the current workspace")
    args = parser.parse_args()
    if not args.compute:
        os.environ["MLK_HOME"] = tempfile.mkdtemp(prefix="bench-training-")
    extra = ["--set", f"compute=azureml:{args.compute}"] if args.compute else ["--local"]
    stamp = time.strftime("%H%M%S")
    cold = one_job(f"bench_cold_{stamp}", extra)
    print(f"cold (environment built, tracking server started): end to end {cold[2]:.1f} s")
    timings = [one_job(f"bench_{stamp}_{i}", extra) for i in range(args.runs)]

    sys.path.insert(0, str(REPO))
    from mlk.envs.identity import read_conda  # noqa: F401 (the environment mlk built for the example)
    from mlk.local import tracking
    from mlk.workspace.home import open_workspace

    ws = open_workspace()
    prepared = json.loads((ws.root / "jobs" / f"bench_cold_{stamp}" / "prepared.json").read_text())
    from mlk.envs.venv import ensure_env

    python = ensure_env(prepared["environment"], ws.envs, extra_requirements=()).python
    server = tracking.ensure(ws)
    env = {**os.environ, **server.job_environment(), "MLFLOW_EXPERIMENT_NAME": "bench-direct"}
    by_hand = [direct(python, env) for _ in range(args.runs)]

    where = args.compute or "this machine"
    submit, running, total = (statistics.median(t[i] for t in timings) for i in range(3))
    hand = statistics.median(by_hand)
    print(f"example job on {where}, median of {args.runs}:")
    print(f"  mlk job create returns      {submit:6.2f} s")
    print(f"  submit → Running            {running:6.2f} s")
    print(f"  submit → Completed          {total:6.2f} s")
    print(f"  the script by hand          {hand:6.2f} s")
    print(f"  ratio job / by hand         {total / hand:6.2f}×  (overhead {total - hand:.2f} s)")
    if not args.compute:
        tracking.stop(ws)


if __name__ == "__main__":
    main()
