"""Training jobs, side by side: mlk's job (submit → Running, and end to end) against the same training
script run by hand, in one run.

    .venv/bin/python scripts/bench_training.py [--runs 3]                 # on this machine
    .venv/bin/python scripts/bench_training.py --test-cluster [--runs 3]  # on the real test control plane

On this machine the job is the example (examples/training: scikit-learn on the Iris CSV, metrics and the
model through MLflow) in a fresh MLK_HOME, and the script by hand runs in the environment mlk built for it,
logging to the same MLflow server. On the test cluster (tests/controlplane: kube-apiserver, controller
manager, scheduler, etcd, with mlk's node agent; Azurite as the workspace's storage) the job is
tests/kube/trainapp's, whose image needs no build, and the script by hand runs in this Python. The first
job of each run is untimed: it builds the environment and starts the tracking server (its time is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Case:
    folder: Path
    by_hand: list[str]
    """The training script's command line, run in `folder` (OUT: a fresh output folder)."""


LOCAL = Case(REPO / "examples/training", ["src/train.py", "--data", "data/iris.csv", "--C", "0.8", "--model", "OUT"])
CLUSTER = Case(REPO / "tests/kube/trainapp", ["train.py", "--data", "data/numbers.csv", "--model", "OUT"])


def mlk(case: Case, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mlk", *args], cwd=case.folder, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"mlk {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def one_job(case: Case, name: str) -> tuple[float, float, float]:
    """Seconds until `job create` returned, until the job was Running, until it was Completed. The status is
    read in this process, as `mlk job show` reads it (a `job show` process every poll would take a core of
    the two from the job it measures)."""
    from mlk.compute import jobflow
    from mlk.workspace.home import open_workspace

    started = time.perf_counter()
    mlk(case, "job", "create", "-f", "job.yml", "-n", name)
    submitted, running = time.perf_counter() - started, None
    ws = open_workspace()
    while True:
        status = str(jobflow.show(ws, name, metrics=False)["status"])
        if running is None and status in ("Running", "Finalizing", "Completed"):
            running = time.perf_counter() - started
        if status in ("Completed", "Failed", "Canceled"):
            if status != "Completed":
                raise SystemExit(f"job {name} ended {status}: {mlk(case, 'job', 'show', '-n', name)}")
            return submitted, running or 0.0, time.perf_counter() - started
        time.sleep(0.1)


def by_hand(case: Case, python: str, env: dict[str, str]) -> float:
    """The script in a copy of its folder (what MLflow writes stays out of the job's code), logging to the
    workspace's tracking server, or else to an SQLite file as MLflow's own default does."""
    with tempfile.TemporaryDirectory() as out:
        shutil.copytree(case.folder, f"{out}/code")
        argv = [python, *(f"{out}/model" if a == "OUT" else a for a in case.by_hand)]
        env = {"MLFLOW_TRACKING_URI": f"sqlite:///{out}/mlflow.db", **env}
        started = time.perf_counter()
        subprocess.run(argv, cwd=f"{out}/code", env=env, check=True, capture_output=True)
        return time.perf_counter() - started


def local_python() -> tuple[str, dict[str, str]]:
    """The example's environment (as mlk built it) and the workspace's tracking server, for the script by hand."""
    from mlk.envs.venv import ensure_env
    from mlk.local import tracking
    from mlk.workspace.home import open_workspace
    from mlk.workspace.jobs import names

    ws = open_workspace()
    prepared = json.loads((ws.root / "jobs" / names(ws)[0] / "prepared.json").read_text())
    python = ensure_env(prepared["environment"], ws.envs, extra_requirements=()).python
    server = tracking.ensure(ws)
    return str(python), {**os.environ, **server.job_environment(), "MLFLOW_EXPERIMENT_NAME": "by-hand"}


def measure(case: Case, where: str, runs: int, python: str | None) -> None:
    stamp = time.strftime("%H%M%S")
    cold = one_job(case, f"bench_cold_{stamp}")
    print(f"first job (cold: environment, image or tracking server made on the way): {cold[2]:.1f} s end to end")
    timings = [one_job(case, f"bench_{stamp}_{i}") for i in range(runs)]
    hand_python, env = (python, dict(os.environ)) if python else local_python()
    hand = statistics.median(by_hand(case, hand_python, env) for _ in range(runs))
    submit, running, total = (statistics.median(t[i] for t in timings) for i in range(3))
    print(f"{case.folder.relative_to(REPO)}/job.yml on {where}, median of {runs}:")
    print(f"  mlk job create returns      {submit:6.2f} s")
    print(f"  submit → Running            {running:6.2f} s")
    print(f"  submit → Completed          {total:6.2f} s")
    print(f"  the script by hand          {hand:6.2f} s")
    print(f"  ratio job / by hand         {total / hand:6.1f}×  (mlk's overhead {total - hand:.2f} s)")


@contextlib.contextmanager
def test_cluster() -> Iterator[None]:
    from tests.controlplane.fixture import running
    from tests.kube.env import kube_environment

    with (
        tempfile.TemporaryDirectory() as tmp,
        running(Path(tmp) / "control-plane") as plane,
        kube_environment(plane, Path(tmp) / "kube"),
    ):
        yield


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--test-cluster", action="store_true", help="run on the real test control plane")
    args = parser.parse_args()
    if args.test_cluster:
        with test_cluster():
            measure(CLUSTER, "the test cluster", args.runs, sys.executable)
        return
    os.environ["MLK_HOME"] = tempfile.mkdtemp(prefix="bench-training-")
    os.environ.pop("MLK_WORKSPACE", None)
    try:
        measure(LOCAL, "this machine", args.runs, None)
    finally:
        from mlk.local import tracking
        from mlk.workspace.home import open_workspace

        tracking.stop(open_workspace())


if __name__ == "__main__":
    main()
