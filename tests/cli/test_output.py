"""The console's formats and --query, shared by every command (exercised through `validate`)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from mlk.cli.console import Console, render
from tests.conftest import EXAMPLES, run_mlk

ROWS = [{"name": "blue", "traffic": 90, "tags": {"a": 1}}, {"name": "green", "traffic": 10, "state": None}]


def test_table_is_azs_sorted_scalar_fields() -> None:
    # tags (a mapping) and state (null) are left out; tests/cli/test_knack_output.py checks against knack
    assert render(ROWS, "table") == "Name    Traffic\n------  ---------\nblue    90\ngreen   10\n"


def test_tsv_has_no_header_and_sorted_values() -> None:
    assert render(ROWS, "tsv") == "blue\t\t90\ngreen\tNone\t10\n"


def test_json_and_yaml_sort_keys_as_az_does() -> None:
    assert render({"b": 1, "a": "é"}, "json") == '{\n  "a": "é",\n  "b": 1\n}\n'
    assert render({"b": 1, "a": "é"}, "yaml") == "a: é\nb: 1\n"


def test_jsonc_and_yamlc_colour_only_for_a_terminal() -> None:
    assert render({"a": 1}, "jsonc") == '{\n  "a": 1\n}\n'
    assert render({"a": 1}, "yamlc") == "a: 1\n"
    assert "\033[" in render({"a": 1}, "jsonc", colour=True)
    assert "\033[" in render({"a": 1}, "yamlc", colour=True)


def test_a_null_result_prints_nothing() -> None:
    console = Console(out=io.StringIO(), err=io.StringIO())
    console.settings.output = "json"
    console.result(None)
    console.settings.query = "no_such_field"
    console.result({"name": "x"})
    assert _text(console) == ""


def test_a_table_transformer_shapes_table_output_unless_a_query_does() -> None:
    def transformer(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"name": r["name"], "endpoint": "e"} for r in rows]

    console = Console(out=io.StringIO(), err=io.StringIO())
    console.settings.output = "table"
    console.result(ROWS, table=transformer)
    assert _text(console).splitlines()[0].split() == ["Name", "Endpoint"]  # the transformer's order, not sorted
    console.settings.output = "json"
    console.result(ROWS, table=transformer)  # other formats ignore it
    assert '"traffic"' in _text(console)


def _text(console: Console) -> str:
    assert isinstance(console.out, io.StringIO)
    text = console.out.getvalue()
    console.out.seek(0)
    console.out.truncate()
    return text


@pytest.mark.parametrize("fmt", ["json", "yaml", "table", "tsv", "none", "jsonc", "yamlc"])
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


def test_a_query_replaces_the_commands_table_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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


# --- az's settings: $AZURE_CORE_*, then [core] in mlk's config file; flags win -------------------------------


@pytest.fixture
def az_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A home without a config file and no AZURE_CORE_* variables; returns the config file's path."""
    for name in ("OUTPUT", "ONLY_SHOW_ERRORS", "NO_COLOR"):
        monkeypatch.delenv(f"AZURE_CORE_{name}", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("MLK_HOME", str(tmp_path))
    return tmp_path / "config"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_azure_core_output_replaces_the_summary_and_o_wins(az_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CORE_OUTPUT", "table")
    endpoint = EXAMPLES / "endpoint.yml"
    table = run_mlk("validate", "-f", endpoint)
    assert table.exit_code == 0, table.stderr
    assert table.stdout == "Auth_mode    Name\n-----------  -----------\nkey          my-endpoint\n"  # no summary
    assert json.loads(run_mlk("validate", "-f", endpoint, "-o", "json").stdout)["name"] == "my-endpoint"
    assert run_mlk("validate", "-f", endpoint, "-o", "TSV").stdout == "key\tmy-endpoint\n"  # az lowers -o too


def test_a_bad_azure_core_output_is_a_usage_error_unless_o_is_given(
    az_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CORE_OUTPUT", "xml")
    bad = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml")
    assert bad.exit_code == 2 and "$AZURE_CORE_OUTPUT: 'xml' is not a format" in bad.stderr
    assert run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "-o", "json").exit_code == 0


def test_the_config_files_core_section_counts_and_the_environment_wins(
    az_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    az_settings.write_text("[core]\noutput = yaml\n")
    assert run_mlk("validate", "-f", EXAMPLES / "endpoint.yml").stdout.startswith("auth_mode: key\n")
    monkeypatch.setenv("AZURE_CORE_OUTPUT", "json")
    assert run_mlk("validate", "-f", EXAMPLES / "endpoint.yml").stdout.startswith("{\n")


@pytest.mark.parametrize(
    ("value", "quiet"),
    [
        ("yes", True),
        ("1", True),
        ("TRUE", True),
        ("on", True),
        ("no", False),
        ("0", False),
        ("False", False),
        ("off", False),
    ],
)
def test_azure_core_only_show_errors_reads_booleans_as_az_does(
    az_settings: Path, monkeypatch: pytest.MonkeyPatch, value: str, quiet: bool
) -> None:
    monkeypatch.setenv("AZURE_CORE_ONLY_SHOW_ERRORS", value)
    console = Console(out=io.StringIO(), err=io.StringIO())
    console.configure()
    console.warning("careful")
    console.info("progress")
    console.error("broken")
    assert isinstance(console.err, io.StringIO)
    assert ("careful" in console.err.getvalue()) is not quiet and ("progress" in console.err.getvalue()) is not quiet
    assert "ERROR: broken" in console.err.getvalue()


def test_only_show_errors_the_flag_wins_over_a_false_setting(
    az_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CORE_ONLY_SHOW_ERRORS", "false")
    console = Console(out=io.StringIO(), err=io.StringIO())
    console.configure(only_show_errors=True)
    console.warning("careful")
    assert isinstance(console.err, io.StringIO) and console.err.getvalue() == ""


def test_a_value_that_is_not_a_boolean_fails_every_command(az_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CORE_ONLY_SHOW_ERRORS", "maybe")
    bad = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "-o", "json")
    assert bad.exit_code == 2 and "$AZURE_CORE_ONLY_SHOW_ERRORS: 'maybe' is not a boolean" in bad.stderr
    monkeypatch.delenv("AZURE_CORE_ONLY_SHOW_ERRORS")
    az_settings.write_text("[core]\nno_color = sometimes\n")
    bad = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "-o", "json")
    assert bad.exit_code == 2 and f"[core] no_color in {az_settings}: 'sometimes' is not a boolean" in bad.stderr


def test_azure_core_no_color_turns_colour_off_on_a_terminal(az_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def coloured() -> tuple[bool, bool]:
        console = Console(out=Terminal(), err=Terminal())
        console.configure(output="jsonc")
        console.result({"a": 1})
        console.warning("careful")
        assert isinstance(console.out, io.StringIO) and isinstance(console.err, io.StringIO)
        return "\033[" in console.out.getvalue(), "\033[" in console.err.getvalue()

    assert coloured() == (True, True)
    monkeypatch.setenv("AZURE_CORE_NO_COLOR", "true")
    assert coloured() == (False, False)


def test_colour_needs_both_stdout_and_stderr_to_be_terminals(az_settings: Path) -> None:
    console = Console(out=Terminal(), err=io.StringIO())  # az: a redirected stderr turns result colours off too
    console.configure(output="yamlc")
    console.result({"a": 1})
    assert isinstance(console.out, io.StringIO) and console.out.getvalue() == "a: 1\n"
