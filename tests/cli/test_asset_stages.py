"""az ml's model/environment archive and restore: an archived version leaves `list` and @latest, is still
used when named, and comes back with restore; bad names are exit 3 and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Result, run_mlk


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    for version in ("1", "2"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "weights.txt").write_text(f"weights {version}")
        assert run_mlk("model", "create", "-n", "m", "-v", version, "-p", str(tmp_path / version)).exit_code == 0
    return tmp_path / "home"


def mlk(*args: str) -> Result:
    done = run_mlk(*args)
    assert done.exit_code == 0, done.stderr
    return done


def versions(*flags: str) -> list[str]:
    return json.loads(mlk("model", "list", "-n", "m", "--query", "[].version", "-o", "json", *flags).stdout)


def test_archive_hides_a_version_that_stays_usable() -> None:
    mlk("model", "archive", "-n", "m", "--version", "2")
    assert versions() == ["1"]
    assert versions("--archived-only") == ["2"]
    assert versions("--include-archived") == ["1", "2"]
    assert json.loads(mlk("model", "show", "-n", "m", "-v", "2", "-o", "json").stdout)["stage"] == "Archived"
    latest = json.loads(mlk("model", "show", "-n", "m", "--label", "latest", "-o", "json").stdout)
    assert latest["version"] == "1" and latest["stage"] == "Development"  # @latest skips archived versions
    mlk("model", "restore", "-n", "m", "-v", "2")
    assert versions() == ["1", "2"]


def test_archive_without_a_version_takes_them_all() -> None:
    mlk("model", "archive", "-n", "m")
    assert versions() == []
    gone = run_mlk("model", "show", "-n", "m")
    assert gone.exit_code == 3 and "archived" in gone.stderr and "restore" in gone.stderr
    mlk("model", "restore", "-n", "m")
    assert versions() == ["1", "2"]


def test_what_does_not_exist_is_exit_3_and_changes_nothing(home: Path) -> None:
    before = (home / "workspaces/default/assets.json").read_bytes()
    assert run_mlk("model", "archive", "-n", "nope").exit_code == 3
    assert run_mlk("model", "archive", "-n", "m", "-v", "9").exit_code == 3
    both = run_mlk("model", "list", "--include-archived", "--archived-only")
    assert both.exit_code == 2
    assert (home / "workspaces/default/assets.json").read_bytes() == before


def test_environments_too(tmp_path: Path) -> None:
    mlk("environment", "create", "-n", "env", "--image", "python:3.11-slim")
    mlk("environment", "archive", "-n", "env", "-v", "1")
    listed = json.loads(mlk("environment", "list", "--archived-only", "-o", "json").stdout)
    assert [(e["name"], e["stage"]) for e in listed] == [("env", "Archived")]
