"""A deployment's environment on this machine: a virtual environment built once per identity, then reused.

Azure ML takes 10–45 minutes to build a conda image; mlk builds a virtual environment with uv from the same
conda file in seconds, and keeps it under `cache_root/<identity[:16]>` so every later deployment of the same
definition (whatever its name or version) starts at once.

Crash safety: the marker `.mlk-env.json` is written last, atomically. A folder without it is a build that
was interrupted (Ctrl-C, a full disk, a killed process) and is thrown away and rebuilt from scratch; uv's
own cache makes the rebuild cheap. Concurrency: builders of the same environment take an fcntl lock on
`<identity[:16]>.lock` beside it, so the second one waits and then finds the first one's result.

An environment without a conda file (an image alone, or a Docker build context) has nothing mlk can build
without Docker: ensure_env returns the current interpreter and leaves the warning to the caller.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlk.envs import pythons, uv
from mlk.envs.conda import PipPlan, pip_plan
from mlk.envs.identity import build_context_files, environment_identity, read_conda

MARKER = ".mlk-env.json"
MARKER_SCHEME = 1
LOCAL_PYTHON = pythons.LOCAL_PYTHON
CURRENT = "current"
"""The Python request recorded when the conda file names no version: mlk's own interpreter."""
NO_CONDA = "no conda file: the environment's packages come from its image, which the embedded default cannot run"


@dataclass(frozen=True)
class LocalEnv:
    """A ready environment: the interpreter to run score.py with, and how it came to be."""

    python: Path
    """The environment's interpreter (the current one for environments without a conda file)."""
    identity: str
    """sha256 of the environment definition (mlk.envs.identity)."""
    reused: bool
    """True when nothing had to be built."""
    seconds: float
    """Time spent in ensure_env, waiting for another builder included."""
    plan: PipPlan
    """What the conda file turned into (requirements, skipped packages, notes to show)."""
    python_version: str | None = None
    """The environment's Python version ("3.11.7"); check this, not the plan, against what score.py needs."""


def env_dir(cache_root: Path, identity: str) -> Path:
    return cache_root / identity[:16]


def ensure_env(
    env_spec: Mapping[str, Any],
    cache_root: Path,
    *,
    extra_requirements: Sequence[str] = ("httptools", "uvloop"),
    on_output: uv.Output | None = None,
) -> LocalEnv:
    """The environment for a resolved environment spec, built when missing or incomplete, reused otherwise.

    `extra_requirements` are what mlk's own server needs inside the environment; an existing environment
    that lacks some of them gets them added. uv's output is passed to `on_output` line by line.
    """
    started = time.monotonic()
    conda = read_conda(env_spec)
    identity = environment_identity(env_spec, conda, build_context_files(env_spec))
    if conda is None:
        plan = PipPlan(None, (), notes=(NO_CONDA,))
        current = ".".join(map(str, sys.version_info[:3]))
        return LocalEnv(Path(sys.executable), identity, True, time.monotonic() - started, plan, current)
    plan = pip_plan(conda)
    request = _python_request(plan, on_output)
    home = env_dir(cache_root, identity)
    cache_root.mkdir(parents=True, exist_ok=True)
    with _locked(cache_root / f"{home.name}.lock", on_output):
        marker = read_marker(home)
        stale = _stale(marker, identity, request, home)
        if marker is not None and stale is None:
            wanted = list(marker.get("extra_requirements", []))
            missing = [r for r in extra_requirements if r not in wanted]
            if missing:
                uv.pip_install(_python_in(home), missing, plan.options, on_output=on_output)
                _write_marker(home, {**marker, "extra_requirements": [*wanted, *missing]})
            elapsed = time.monotonic() - started
            return LocalEnv(_python_in(home), identity, True, elapsed, plan, marker.get("python"))
        _build(home, identity, plan, request, extra_requirements, on_output, stale)
    return LocalEnv(_python_in(home), identity, False, time.monotonic() - started, plan, _venv_version(home))


def _python_in(home: Path) -> Path:
    return home / "bin" / "python"


def _python_request(plan: PipPlan, on_output: uv.Output | None) -> str:
    override = os.environ.get(LOCAL_PYTHON, "").strip()
    if override:
        asked = plan.python or plan.python_range or "any"
        if on_output is not None and override != asked:
            on_output(f"{LOCAL_PYTHON}={override}: using it instead of the conda file's python ({asked})")
        return override
    return plan.python or plan.python_range or CURRENT


def _interpreter(request: str, on_output: uv.Output | None) -> str:
    """The interpreter to create the environment with: mlk's own, or one found (or fetched) for `request`."""
    if request == CURRENT:
        return sys.executable
    overridden = bool(os.environ.get(LOCAL_PYTHON, "").strip())
    return pythons.interpreter(request, overridden=overridden, on_output=on_output)


def _build(
    home: Path,
    identity: str,
    plan: PipPlan,
    request: str,
    extras: Sequence[str],
    on_output: uv.Output | None,
    stale: str | None,
) -> None:
    interpreter = _interpreter(request, on_output)
    if home.exists():
        if on_output is not None:
            on_output(f"removing {home}: {stale}")
        shutil.rmtree(home)
    started = time.monotonic()
    try:
        uv.create_venv(interpreter, home, on_output=on_output)
        requirements = [*plan.requirements, *extras]
        if requirements:
            uv.pip_install(_python_in(home), requirements, plan.options, on_output=on_output)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    marker = {
        "scheme": MARKER_SCHEME,
        "identity": identity,
        "python": _venv_version(home),
        "python_request": request,
        "interpreter": interpreter,
        "plan": plan.to_dict(),
        "extra_requirements": list(extras),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.monotonic() - started, 3),
    }
    _write_marker(home, marker)


def _stale(marker: Mapping[str, Any] | None, identity: str, request: str, home: Path) -> str | None:
    """Why the environment at `home` cannot be used as it is, or None when it can."""
    if marker is None:
        return "an earlier build did not finish"
    if marker.get("scheme") != MARKER_SCHEME or marker.get("identity") != identity:
        return "it was built by another version of mlk, or for another environment"
    if marker.get("python_request") != request:
        return f"it was built for python {marker.get('python_request')}, and {request} is asked for now"
    if not _python_in(home).exists():  # follows the link: the base interpreter may have been uninstalled
        return "its Python interpreter is gone"
    return None


def _venv_version(home: Path) -> str | None:
    """The environment's Python version, from the pyvenv.cfg uv and venv write (no process needed)."""
    try:
        lines = (home / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    values = {key.strip(): value.strip() for key, value in values.items()}
    return values.get("version_info") or values.get("version")


def read_marker(home: Path) -> dict[str, Any] | None:
    """The marker of a complete environment, or None (never built, interrupted, or unreadable)."""
    try:
        data = json.loads((home / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_marker(home: Path, marker: Mapping[str, Any]) -> None:
    temporary = home / f"{MARKER}.tmp"
    with temporary.open("w", encoding="utf-8") as file:
        json.dump(marker, file, indent=2)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, home / MARKER)


@contextmanager
def _locked(path: Path, on_output: uv.Output | None) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `path`; released by the kernel too if this process dies."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_output is not None:
                on_output(f"waiting for another build of this environment to finish ({path})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
