"""`mlk model show` and `mlk environment show` as az ml has them: `--version N` or `--label latest`, not
both, and no label but latest; neither means the latest version (az asks for one; mlk does not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlk.errors import UsageError
from mlk.workspace import assets
from tests.conftest import run_mlk


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two versions of a model `m` and of an environment `e`."""
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    for content in ("first", "second"):
        model = tmp_path / "model.txt"
        model.write_text(content)
        assert run_mlk("model", "create", "-n", "m", "-p", str(model)).exit_code == 0
        conda = tmp_path / "conda.yml"
        conda.write_text(f"name: {content}\ndependencies:\n  - python=3.11\n")
        created = run_mlk("environment", "create", "-n", "e", "--image", "python:3.11-slim", "--conda-file", str(conda))
        assert created.exit_code == 0, created.stderr
    return tmp_path


def shown(*args: str) -> str:
    result = run_mlk(*args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["version"])


@pytest.mark.parametrize("noun", ["model", "environment"])
def test_version_label_or_neither(registered: Path, noun: str) -> None:
    name = "m" if noun == "model" else "e"
    assert shown(noun, "show", "-n", name, "--version", "1") == "1"
    assert shown(noun, "show", "-n", name, "-v", "2") == "2"
    assert shown(noun, "show", "-n", name, "--label", "latest") == "2"
    assert shown(noun, "show", "-n", name, "-l", "latest") == "2"
    assert shown(noun, "show", "-n", name) == "2"


@pytest.mark.parametrize("noun", ["model", "environment"])
def test_both_or_another_label_is_refused(registered: Path, noun: str) -> None:
    name = "m" if noun == "model" else "e"
    both = run_mlk(noun, "show", "-n", name, "-v", "1", "-l", "latest")
    assert both.exit_code == 2
    assert "give --version or --label, not both" in both.stderr
    other = run_mlk(noun, "show", "-n", name, "--label", "production")
    assert other.exit_code == 2
    assert "--label production: mlk knows only the label latest" in other.stderr
    assert f"mlk {noun} list -n {name}" in other.stderr


def test_a_missing_version_is_not_found(registered: Path) -> None:
    result = run_mlk("model", "show", "-n", "m", "-v", "9")
    assert result.exit_code == 3
    assert "'m' has no version 9" in result.stderr


def test_named_references() -> None:
    assert assets.named("models", "m") == "m@latest"
    assert assets.named("models", "m", label="latest") == "m@latest"
    assert assets.named("models", "m", "3") == "m:3"
    with pytest.raises(UsageError, match="not both"):
        assets.named("models", "m", "3", "latest")
    with pytest.raises(UsageError, match="only the label latest"):
        assets.named("environments", "e", label="")
