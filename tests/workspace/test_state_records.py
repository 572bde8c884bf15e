"""state.json's records carry a version: files from before it are migrated as they are read (and written so
by the next change), a file from a newer mlk is refused rather than rewritten without what it holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlk.workspace import records, state
from mlk.workspace.home import open_workspace
from mlk.workspace.records import NewerStateError

VERSION_1 = {
    "endpoints": {
        "my-endpoint": {
            "spec": {"name": "my-endpoint", "auth_mode": "key"},
            "compute": "local",
            "traffic": {"blue": 100},
            "deployments": {
                "blue": {
                    "spec": {"name": "blue", "endpoint_name": "my-endpoint"},
                    "generation": 2,
                    "run": {
                        "python": "/usr/bin/python3",
                        "code_dir": "/c",
                        "model_dir": "/m",
                        "scoring_script": "s.py",
                    },
                }
            },
            "operation": None,
        },
        "on-cluster": {"spec": {"name": "on-cluster"}, "compute": "k8s", "traffic": {}, "deployments": {}},
    }
}


def test_a_version_1_file_is_migrated_and_written_as_the_current_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLK_HOME", str(tmp_path))
    ws = open_workspace("default")
    ws.state_file.write_text(json.dumps(VERSION_1))
    loaded = state.load(ws)
    assert loaded["version"] == records.STATE_VERSION
    run = loaded["endpoints"]["my-endpoint"]["deployments"]["blue"].get("run")
    assert run is not None and run["runtime"] == "process"
    assert loaded["endpoints"]["on-cluster"]["mirror_traffic"] == {}
    with state.mutate(ws) as current:
        current["endpoints"]["my-endpoint"]["traffic"] = {"blue": 100}
    written = json.loads(ws.state_file.read_text())
    assert written["version"] == records.STATE_VERSION
    assert written["endpoints"]["my-endpoint"]["deployments"]["blue"]["run"]["runtime"] == "process"


def test_a_file_from_a_newer_mlk_is_refused_and_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLK_HOME", str(tmp_path))
    ws = open_workspace("default")
    newer = json.dumps({"version": records.STATE_VERSION + 1, "endpoints": {}, "future": True})
    ws.state_file.write_text(newer)
    with pytest.raises(NewerStateError, match="newer mlk"):
        state.load(ws)
    with pytest.raises(NewerStateError), state.mutate(ws):
        pass
    assert ws.state_file.read_text() == newer


def test_an_empty_workspace_starts_at_the_current_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLK_HOME", str(tmp_path))
    assert state.load(open_workspace("default")) == records.empty()
