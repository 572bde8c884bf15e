"""Azure's sample scripts, in our own words, run unchanged: each `*.sh` here is a bash script of `az ml` commands
in the shape of azureml-examples' cli/deploy-*.sh, and `az.sh` (read by bash first, as BASH_ENV) makes `az`
mean mlk. Each script runs on the embedded default in its own MLK_HOME, checks what it gets with bash tests,
and exits non-zero on the first command that fails or, at its end, when a check failed."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import REPO
from tests.local.conftest import _kill_everything

HERE = Path(__file__).resolve().parent
SHIM = HERE / "az.sh"
SETUP = HERE / "setup-workspace.sh"
TIMEOUT = 600  # seconds; a cold machine builds the environments from PyPI first
QUICK = {"setup-workspace.sh", "deploy-moe-binary-payloads.sh"}  # no environment to build: a few seconds


def _scripts() -> list[object]:
    return [
        pytest.param(path, id=path.stem, marks=() if path.name in QUICK else pytest.mark.slow)
        for path in sorted(HERE.glob("*.sh"))
        if path != SHIM
    ]


def _run(script: Path, env: dict[str, str], out: IO[bytes]) -> int | None:
    """The script's exit code, or None when it ran past TIMEOUT (it and what it started are killed)."""
    process = subprocess.Popen(
        ["bash", script.name], cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        return process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


@pytest.mark.parametrize("script", _scripts())
def test_azure_script_runs_unchanged(script: Path, tmp_path: Path) -> None:
    home = tmp_path / "mlk-home"
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "MLK_WORKSPACE" and not name.startswith(("AZURE_CORE_", "AZURE_DEFAULTS_"))
    }
    env |= {
        "MLK_HOME": str(home),
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "BASH_ENV": str(SHIM),
    }
    log = tmp_path / "output.txt"
    # Azure's samples assume their setup ran (azureml-examples' CI runs its setup script first): so here
    steps = [SETUP, script] if script != SETUP else [script]
    code: int | None = 0
    try:
        # output to a file, not a pipe: a process the script leaves behind must not keep the test waiting
        with log.open("wb") as out:
            for step in steps:
                code = _run(step, env, out)
                if code != 0:
                    break
    finally:
        _kill_everything(home)
    output = log.read_text(errors="replace")
    outcome = f"timed out after {TIMEOUT} s" if code is None else f"exited {code}"
    if code != 0:
        pytest.fail(f"{script.name} {outcome}; its output:\n{output}", pytrace=False)
