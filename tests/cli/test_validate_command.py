"""`mlk validate` as a user runs it: exit codes, located problems on stderr, resolved specs on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import EXAMPLES, REPO, run_mlk

INVALID = REPO / "tests/specs/invalid"


def test_examples_are_valid_and_summarised() -> None:
    files = [
        "endpoint.yml",
        "blue.yml",
        "green.yml",
        "compute.yml",
        "instance-type.yml",
        "extension-config.yml",
        "router.yml",
    ]
    result = run_mlk("validate", *[f"-f{EXAMPLES / f}" for f in files])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count(": valid ") == len(files)
    assert "valid online-deployment 'blue'" in result.stdout


def test_yaml_output_is_the_resolved_spec() -> None:
    result = run_mlk("validate", "-f", EXAMPLES / "blue.yml", "-o", "yaml")
    assert result.exit_code == 0
    data = yaml.safe_load(result.stdout)
    assert data["liveness_probe"]["failure_threshold"] == 30 and data["scale_settings"] == {"type": "default"}


def test_every_problem_is_reported_and_exit_code_is_2(in_repo: Path) -> None:
    result = run_mlk(
        "validate", "-f", "tests/specs/invalid/online-deployment/everything-wrong.yml", "-f", str(EXAMPLES / "blue.yml")
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("tests/specs/")]
    assert len(lines) == 8
    assert "tests/specs/invalid/online-deployment/everything-wrong.yml:4:17: $.instance_count: " in result.stderr
    assert "ERROR: 1 of 2 files is not valid" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_set_applies_to_the_file_and_is_named_in_messages() -> None:
    ok = run_mlk(
        "validate", "-f", EXAMPLES / "blue.yml", "--set", "instance_count=4", "-o", "json", "--query", "instance_count"
    )
    assert ok.exit_code == 0 and json.loads(ok.stdout) == 4
    bad = run_mlk("validate", "-f", EXAMPLES / "blue.yml", "--set", "instance_count=0")
    assert bad.exit_code == 2
    assert "$.instance_count: 0 is less than the minimum of 1 (set with --set)" in bad.stderr


def test_kind_flag_and_kind_conflicts() -> None:
    result = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "--kind", "online-deployment")
    assert result.exit_code == 2 and "this $schema is for online-endpoint; expected online-deployment" in result.stderr
    unknown = run_mlk("validate", "-f", EXAMPLES / "endpoint.yml", "--kind", "pipeline")
    assert unknown.exit_code == 2 and "unknown kind 'pipeline'" in unknown.stderr


def test_missing_file_and_syntax_error(tmp_path: Path) -> None:
    missing = run_mlk("validate", "-f", tmp_path / "nope.yml")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\n  traffic: 1\n")
    syntax = run_mlk("validate", bad)
    assert syntax.exit_code == 2 and f"{bad}:2:10: $: YAML syntax error" in syntax.stderr


def test_warnings_print_and_only_show_errors_hides_them() -> None:
    managed = REPO / "tests/specs/valid/online-deployment/managed-sample.yml"
    loud = run_mlk("validate", managed)
    assert loud.exit_code == 0 and "warning: managed deployments only; ignored" in loud.stderr
    quiet = run_mlk("validate", managed, "--only-show-errors")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_skip_script_validation(in_repo: Path) -> None:
    file = "tests/specs/invalid/online-deployment/no-init.yml"
    assert run_mlk("validate", file).exit_code == 2
    assert run_mlk("validate", file, "--skip-script-validation").exit_code == 0


def test_no_files_is_a_usage_error() -> None:
    result = run_mlk("validate")
    assert result.exit_code == 2 and "no file to validate" in result.stderr


def test_scoring_script_must_stay_in_its_code_folder(tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    secret = tmp_path / "secret.py"
    secret.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    (code / "link.py").symlink_to(secret)
    spec = tmp_path / "blue.yml"
    spec.write_text(
        "name: blue\nendpoint_name: my-endpoint\nenvironment: {image: python:3.11}\n"
        "code_configuration:\n  code: src\n  scoring_script: score.py\n"
    )
    assert run_mlk("validate", "-f", spec).exit_code == 0
    for script, says in (
        ("../secret.py", "'../secret.py' is outside the code folder 'src'"),
        (str(secret), f"'{secret}' is an absolute path"),
        ("link.py", "'link.py' links to "),
        ("sub/../../secret.py", "'sub/../../secret.py' is outside the code folder 'src'"),
    ):
        result = run_mlk("validate", "-f", spec, "--set", f"code_configuration.scoring_script={script}")
        assert result.exit_code == 2, result.stderr
        assert f"{spec}:6:19: $.code_configuration.scoring_script: {says}" in result.stderr
        assert "fix the lines above" in result.stderr and "Traceback" not in result.stderr
        skipped = run_mlk(
            "validate", "-f", spec, "--skip-script-validation", "--set", f"code_configuration.scoring_script={script}"
        )
        assert skipped.exit_code == 2
