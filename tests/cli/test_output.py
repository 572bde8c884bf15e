"""The console's formats and --query, shared by every command (exercised through `validate`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlk.cli.console import render
from tests.conftest import EXAMPLES, run_mlk

ROWS = [{"name": "blue", "traffic": 90, "tags": {"a": 1}}, {"name": "green", "traffic": 10, "state": None}]


def test_table_shows_scalar_fields_with_az_style_headers() -> None:
    text = render(ROWS, "table")
    assert text.splitlines()[0].split() == ["Name", "Traffic", "State"]
    assert text.splitlines()[2].split() == ["blue", "90"]


def test_tsv_has_no_header() -> None:
    assert render(ROWS, "tsv").splitlines() == ["blue\t90\t", "green\t10\t"]


def test_jsonc_colours_only_for_a_terminal() -> None:
    assert render({"a": 1}, "jsonc") == '{\n  "a": 1\n}'
    assert "\033[" in render({"a": 1}, "jsonc", colour=True)


@pytest.mark.parametrize("fmt", ["json", "yaml", "table", "tsv", "none", "jsonc"])
def test_every_format_renders_a_resolved_spec(fmt: str) -> None:
    result = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "-o", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "none":
        assert result.stdout == ""
    else:
        assert "my-endpoint" in result.stdout


def test_query_is_jmespath() -> None:
    result = run_mlk(
        "validate",
        "-f",
        EXAMPLES / "blue.yml",
        "-f",
        EXAMPLES / "green.yml",
        "--query",
        "[].{n: name, t: request_settings.request_timeout_ms}",
        "-o",
        "json",
    )
    assert json.loads(result.stdout) == [{"n": "blue", "t": 3000}, {"n": "green", "t": 3000}]


def test_global_options_before_the_command_work_too() -> None:
    result = run_mlk("-o", "json", "--query", "name", "validate", "-f", EXAMPLES / "endpoint.yml")
    assert json.loads(result.stdout) == "my-endpoint"


def test_bad_output_and_bad_query_are_usage_errors() -> None:
    bad_format = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "-o", "xml")
    assert bad_format.exit_code == 2 and "--output 'xml' is not a format" in bad_format.stderr
    bad_query = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "--query", "[[")
    assert bad_query.exit_code == 2 and "--query '[['" in bad_query.stderr


def test_a_query_replaces_the_commands_table_layout(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Azure's deploy scripts read one field: `--query provisioning_state -o tsv`
    monkeypatch.setenv("MLK_HOME", str(tmp_path))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    created = run_mlk("model", "create", "-n", "m", "--path", EXAMPLES / "model-1" / "model", "-o", "none")
    assert created.exit_code == 0, created.stderr
    assert run_mlk("model", "list", "--query", "[0].name", "-o", "tsv").stdout.strip() == "m"
    table = run_mlk("model", "list", "--query", "[].{Model: name, V: version}", "-o", "table").stdout
    assert table.splitlines()[0].split() == ["Model", "V"]


def test_progress_goes_to_stderr_so_json_output_pipes(tmp_path: Path) -> None:
    from tests.conftest import run_mlk_process

    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(12 * 1024 * 1024))  # above the size that shows a bar
    env = {"MLK_HOME": str(tmp_path / "home"), "MLK_WORKSPACE": "", "NO_COLOR": "1"}
    done = run_mlk_process("model", "create", "-n", "big", "--path", str(model), "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "big"  # nothing but the result on stdout
    assert "big" in done.stderr and "\x1b[" not in done.stderr  # the bar went to stderr, without colour
