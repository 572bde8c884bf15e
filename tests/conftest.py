"""Shared test helpers: the repository root and an in-process `mlk` runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.docker_env",  # Docker fixtures: docker_engine, base_image, registry
    "tests.controlplane.fixture",  # control_plane: a real Kubernetes control plane (tests/controlplane)
    "tests.kube.env",  # kube: that cluster with mlk's extension, a workspace and an attached compute
]

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_mlk(*args: str | os.PathLike[str], cwd: Path | None = None) -> Result:
    """Run the real CLI in this process (fast); stdout and stderr kept apart."""
    from typer.testing import CliRunner

    from mlk.cli.app import build, expand_multi

    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        argv = expand_multi([str(a) for a in args])
        result = CliRunner().invoke(build(argv), argv, prog_name="mlk")
    finally:
        os.chdir(old)
    return Result(result.exit_code, result.stdout, result.stderr)


def run_mlk_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m mlk` as a separate process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "mlk", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    """az's settings in the developer's shell (AZURE_CORE_OUTPUT, AZURE_DEFAULTS_WORKSPACE, ...) would change
    what mlk prints and which workspace it opens: the suite runs without them. The tests that check them
    set them again themselves."""
    for name in [n for n in os.environ if n.startswith(("AZURE_CORE_", "AZURE_DEFAULTS_"))]:
        del os.environ[name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that install and delete the extension themselves (fixture `cluster`) need the session's
    control plane without it; the shared cluster (fixture `kube`) installs it once and keeps it to the end.
    So every test on the shared cluster runs after all the others, wherever its file sorts (the contract
    suite asks for it by its `target` parameter)."""

    def on_shared_cluster(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec is not None else None
        return "kube" in getattr(item, "fixturenames", ()) or target == "kube"

    items.sort(key=on_shared_cluster)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlk end-to-end", "the opt-in suite against a real cluster (tests/e2e)")
    group.addoption("--kubeconfig", help="run tests/e2e against this cluster (kind in .github/workflows/kind.yml)")
    group.addoption("--kube-context", help="context of --kubeconfig (default: its current one)")
    group.addoption("--e2e-image", default="mlk:dev", help="mlk's image, already in the cluster's nodes")
    group.addoption(
        "--e2e-storage",
        help="blob storage connection string that both this machine and the cluster's pods can reach",
    )


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 60) -> None:
    """Wait until `url` answers (any status), failing at once with the log when `proc` exits first."""
    import time
    import urllib.error
    import urllib.request

    def output() -> str:
        return log.read_text(errors="replace") if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited with {proc.returncode}:\n{output()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s:\n{output()}")
