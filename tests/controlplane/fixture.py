"""The `control_plane` fixture: one real test cluster per test session (started on first use).

Its supervisor is this process's child and dies with it (PR_SET_PDEATHSIG); the fixture's teardown stops
it properly. Needs root (pod network namespaces) and the built binaries (built here when missing:
~6 min on 2 cores, then cached); where either is impossible the tests that use it fail with the reason
(scripts/test is meant to run them; the fast inner loop leaves them out as slow).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.controlplane import build
from tests.controlplane.cluster import die_with_parent

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ControlPlane:
    root: Path
    kubeconfig: Path
    gateway: str
    """The host's address on the pod network: what pods reach this machine's services at."""
    started_in: float

    def kubectl(
        self, *args: str, check: bool = True, as_user: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(build.cache_folder() / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args]
        if as_user:
            argv.append(f"--as={as_user}")
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} → {done.returncode}\n{done.stdout}{done.stderr}")
        return done

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        scope = ["-n", namespace] if namespace else ["-A"]
        items = json.loads(self.kubectl("get", resource, *scope, "-o", "json").stdout)["items"]
        return [i for i in items if not i["metadata"].get("deletionTimestamp")]

    def can_i(self, service_account: str, verb: str, resource: str, namespace: str | None = None) -> bool:
        scope = ["-n", namespace] if namespace else ["--all-namespaces"]
        done = self.kubectl(
            "auth", "can-i", verb, resource, *scope, check=False, as_user=f"system:serviceaccount:{service_account}"
        )
        return done.stdout.strip() == "yes"

    def log(self, component: str) -> str:
        path = self.root / "logs" / f"{component}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _start(root: Path, runtime: str = "process") -> tuple[subprocess.Popen[bytes], ControlPlane]:
    if os.geteuid() != 0:
        pytest.fail("the test control plane needs root: its pods get network namespaces of their own")
    if shutil.which("ip") is None or shutil.which("nsenter") is None:
        pytest.fail("the test control plane needs iproute2 and util-linux (apt-get install iproute2 util-linux)")
    build.ensure(say=lambda m: print(m, file=sys.stderr))
    started = time.monotonic()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    with open(root / "supervisor.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.controlplane", "supervise", "--root", str(root), "--runtime", runtime],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - one system call
        )
    deadline = time.monotonic() + 180
    while not (root / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            pytest.fail(f"the test control plane did not start:\n{(root / 'supervisor.log').read_text()[-4000:]}")
        time.sleep(0.2)
    ready = json.loads((root / "ready").read_text())
    from tests.controlplane.network import PodNetwork

    index = int(ready["bridge"].removeprefix("mlk-cp"))
    plane = ControlPlane(root, root / "admin.kubeconfig", PodNetwork(index).gateway, time.monotonic() - started)
    return proc, plane


@contextlib.contextmanager
def running(root: Path, runtime: str = "process") -> Iterator[ControlPlane]:
    """A test cluster owned by this process (its supervisor dies with it), stopped on leaving."""
    proc, plane = _start(root, runtime)
    try:
        yield plane
    finally:
        proc.terminate()
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with running(tmp_path_factory.mktemp("control-plane")) as plane:
        yield plane
