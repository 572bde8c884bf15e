"""An isolated MLK_HOME per test, and its agent and replicas stopped afterwards, whatever happened."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, run_mlk
from tests.server.harness import Reply, request

APP = Path(__file__).resolve().parent / "app"


def _kill_everything(home: Path) -> None:
    for status_file in home.glob("workspaces/*/runtime/status.json"):
        status = json.loads(status_file.read_text())
        pids = [r.get("pid") for d in status.get("deployments", {}).values() for r in d.get("replicas", [])]
        pids.append((status.get("agent") or {}).get("pid"))
        for pid in filter(None, pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "mlk-home"
    monkeypatch.setenv("MLK_HOME", str(folder))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    yield folder
    for workspace in folder.glob("workspaces/*"):
        state = json.loads((workspace / "state.json").read_text()) if (workspace / "state.json").exists() else {}
        for endpoint in state.get("endpoints", {}):
            run_mlk("online-endpoint", "delete", "-n", endpoint, "--yes", "-w", workspace.name)
    time.sleep(0.2)
    _kill_everything(folder)


def mlk(*args: str) -> Result:
    """Run the CLI in the test app's folder; fail loudly with its output when it fails."""
    result = run_mlk(*args, cwd=APP)
    assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def score(port: int, key: str, body: str = "{}", deployment: str | None = None, timeout: float = 30) -> Reply:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if deployment:
        headers["azureml-model-deployment"] = deployment
    return request(port, "POST", "/api/v1/endpoint/test-endpoint/score", body, headers, timeout=timeout)


def endpoint_up(*deployments: str, traffic: str | None = None) -> tuple[int, str]:
    """Create test-endpoint with these deployments (the first takes all traffic); return router port and key."""
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    for i, name in enumerate(deployments):
        mlk("online-deployment", "create", "-f", f"{name}.yml", *(["--all-traffic"] if i == 0 else []))
    if traffic:
        mlk("online-endpoint", "update", "-n", "test-endpoint", "--traffic", traffic)
    shown = json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)
    key = json.loads(mlk("online-endpoint", "get-credentials", "-n", "test-endpoint", "-o", "json").stdout)
    return int(shown["scoring_uri"].split(":")[2].split("/")[0]), key["primaryKey"]
