"""The control plane's binaries: built once from the Go module beside this file, cached outside the repo.

The cache folder is keyed by go.mod and go.sum, so a new pin builds anew and an unchanged one is reused
(`$MLK_CACHE`, default ~/.cache/mlk, then controlplane/<key>/). The go command reads its module proxy
from the machine's own configuration (`go env GOPROXY`); nothing here names one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULE = Path(__file__).resolve().parent
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
_BUILT_AS = {"server": "etcd"}  # go.etcd.io/etcd/server/v3 builds a binary named after its folder


def cache_folder() -> Path:
    base = Path(os.environ.get("MLK_CACHE") or Path.home() / ".cache" / "mlk")
    key = hashlib.sha256((MODULE / "go.mod").read_bytes() + (MODULE / "go.sum").read_bytes()).hexdigest()[:16]
    return base / "controlplane" / key


def kubernetes_version() -> str:
    """The k8s.io/kubernetes release go.mod pins (v1.37.2): stamped into the binaries, as release builds are."""
    for line in (MODULE / "go.mod").read_text().splitlines():
        if line.strip().startswith("require k8s.io/kubernetes "):
            return line.split()[2]
    raise RuntimeError("go.mod names no k8s.io/kubernetes release")


def ldflags() -> str:
    version = kubernetes_version()
    major, minor = version.lstrip("v").split(".")[:2]
    stamps = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        stamps += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(["-s", "-w", *stamps])


def present(folder: Path | None = None) -> bool:
    folder = folder or cache_folder()
    return all((folder / name).is_file() for name in BINARIES)


def ensure(say: object = print) -> Path:
    """The folder holding the five binaries, building them first when missing (~15 min on 2 cores cold)."""
    folder = cache_folder()
    if present(folder):
        return folder
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("building the test control plane needs Go (>= 1.26): install it, then run again")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=folder.parent))
    started = time.monotonic()
    if callable(say):
        say(f"building kube-apiserver, controller manager, scheduler, kubectl and etcd into {folder} ...")
    env = {**os.environ, "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"), "CGO_ENABLED": "0"}
    done = subprocess.run(
        [go, "build", "-trimpath", f"-ldflags={ldflags()}", "-o", str(staging) + "/", "tool"],
        cwd=MODULE,
        env=env,
        check=False,
        stdout=sys.stderr,
        stderr=sys.stderr,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"go build of the test control plane failed (exit {done.returncode})")
    for built, name in _BUILT_AS.items():
        (staging / built).rename(staging / name)
    if folder.exists():  # another build finished first: keep its binaries
        shutil.rmtree(staging, ignore_errors=True)
    else:
        staging.rename(folder)
    if callable(say):
        say(f"built in {time.monotonic() - started:.0f} s")
    return folder


if __name__ == "__main__":  # .ci/run: python3 tests/controlplane/build.py (stdlib only, before any venv)
    print(ensure(say=lambda m: print(m, file=sys.stderr)))
