"""scripts/test-cluster: start | stop | status | build | supervise (the background process itself)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.controlplane import build
from tests.controlplane.cluster import RUNTIMES, Cluster

DEFAULT_ROOT = Path(os.environ.get("MLK_TEST_CLUSTER", "/tmp/mlk-test-cluster"))


def start(root: Path, kubeconfig: Path | None, gpus: int, timeout: float = 180, runtime: str = "process") -> Path:
    """Start the supervisor in the background and wait until the cluster is ready; the admin kubeconfig."""
    build.ensure(say=lambda m: print(m, file=sys.stderr))
    if (root / "ready").exists():
        raise SystemExit(f"a test cluster already runs from {root} (scripts/test-cluster stop)")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    root.chmod(0o700)
    argv = [sys.executable, "-m", "tests.controlplane", "supervise", "--root", str(root), "--gpus", str(gpus)]
    argv += ["--runtime", runtime]
    repo = Path(__file__).resolve().parents[2]
    with open(root / "supervisor.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=repo, start_new_session=True)
    (root / "supervisor.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not (root / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise SystemExit(f"the test cluster did not start:\n{(root / 'supervisor.log').read_text()[-3000:]}")
        time.sleep(0.2)
    admin = root / "admin.kubeconfig"
    if kubeconfig is not None:
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(admin, kubeconfig)
        kubeconfig.chmod(0o600)
    return admin


def stop(root: Path) -> None:
    pid_file = root / "supervisor.pid"
    if not pid_file.exists():
        print(f"no test cluster runs from {root}", file=sys.stderr)
        return
    pid = int(pid_file.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    pid_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/test-cluster")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "status", "supervise", "build"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the cluster's folder (state, logs)")
        if name in ("start", "supervise"):
            cmd.add_argument("--gpus", type=int, default=0, help="nvidia.com/gpu the node reports")
            cmd.add_argument(
                "--runtime",
                choices=RUNTIMES,
                default="process",
                help="the node runs containers as local processes, or through the Docker engine",
            )
        if name == "start":
            cmd.add_argument("--kubeconfig", type=Path, help="write the admin kubeconfig here")
    args = parser.parse_args()
    if args.command == "build":
        print(build.ensure(say=lambda m: print(m, file=sys.stderr)))
    elif args.command == "start":
        started = time.monotonic()
        admin = start(args.root, args.kubeconfig, args.gpus, runtime=args.runtime)
        print(f"test cluster ready in {time.monotonic() - started:.1f} s; kubeconfig: {args.kubeconfig or admin}")
    elif args.command == "stop":
        stop(args.root)
    elif args.command == "status":
        ready = args.root / "ready"
        print(json.loads(ready.read_text()) if ready.exists() else "not running")
    else:
        Cluster(args.root, gpus=args.gpus, runtime=args.runtime).run()


if __name__ == "__main__":
    main()
