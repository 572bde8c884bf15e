"""`mlk validate -o json`: the problems as data (file, line, column, path, message, severity), exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_mlk


def test_problems_are_data_for_scripts(tmp_path: Path) -> None:
    bad = tmp_path / "endpoint.yml"
    bad.write_text("name: my-endpoint\nauth_mode: password\n")
    result = run_mlk("validate", "-f", str(bad), "--kind", "online-endpoint", "-o", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["valid"] is False
    problem = next(p for p in data["problems"] if p["path"] == "$.auth_mode")
    assert problem["file"] == str(bad) and problem["line"] == 2 and problem["column"] >= 1
    assert problem["severity"] == "error" and "password" in problem["message"]
    assert "auth_mode" in result.stderr  # the located lines still go to stderr


def test_without_output_format_problems_stay_lines(tmp_path: Path) -> None:
    bad = tmp_path / "endpoint.yml"
    bad.write_text("name: my-endpoint\nauth_mode: password\n")
    result = run_mlk("validate", "-f", str(bad), "--kind", "online-endpoint")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{bad}:2:" in result.stderr
