"""`mlk workspace create` as az's create-or-update: a rerun of a setup script changes nothing, and what cannot
change on a workspace (its storage, its location) is refused with exit 4, the stored workspace untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_mlk


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_a_second_create_is_the_same_workspace(home: Path) -> None:
    first = run_mlk("workspace", "create", "-n", "main", "-g", "rg", "-l", "eastus", "-o", "json")
    assert first.exit_code == 0, first.stderr
    again = run_mlk("workspace", "create", "-n", "main", "-g", "rg", "-l", "eastus", "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert json.loads(first.stdout)["location"] == "eastus"
    shown = run_mlk("workspace", "show", "-n", "main", "--query", "location", "-o", "tsv")
    assert shown.stdout.strip() == "eastus"


def test_location_defaults_to_local_and_cannot_change(home: Path) -> None:
    assert run_mlk("workspace", "create", "-n", "w").exit_code == 0
    stored = (home / "workspaces/w/workspace.json").read_bytes()
    moved = run_mlk("workspace", "create", "-n", "w", "-l", "westeurope")
    assert moved.exit_code == 4
    assert "location" in moved.stderr
    assert (home / "workspaces/w/workspace.json").read_bytes() == stored
    assert run_mlk("workspace", "show", "-n", "w", "--query", "location", "-o", "tsv").stdout.strip() == "local"


def test_storage_cannot_change(home: Path) -> None:
    assert run_mlk("workspace", "create", "-n", "w").exit_code == 0
    other = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/a;"
    refused = run_mlk("workspace", "create", "-n", "w", "--storage-connection-string", other)
    assert refused.exit_code == 4
    assert "storage" in refused.stderr
    assert json.loads((home / "workspaces/w/workspace.json").read_text())["storage"] == {"type": "local"}


def test_a_workspace_nobody_created_is_not_found(home: Path) -> None:
    missing = run_mlk("online-endpoint", "list", "-w", "nobody-made-me")
    assert missing.exit_code == 3
    assert "nobody-made-me" in missing.stderr and "workspace create" in missing.stderr
    assert not (home / "workspaces/nobody-made-me").exists()
    assert run_mlk("online-endpoint", "list").exit_code == 0  # `default` is made on first use
