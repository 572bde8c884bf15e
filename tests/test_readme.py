"""The README's commands stay true: scripts exist and run, paths exist, mlk commands exist, benchmarks run."""

from __future__ import annotations

import os
import re

from tests.conftest import REPO, run_mlk

README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.S)
COMMANDS = [line.split("#")[0].strip() for block in BLOCKS for line in block.splitlines() if line.strip()]


def test_readme_starts_with_the_two_commands() -> None:
    first = BLOCKS[0].splitlines()
    assert first[0].startswith("scripts/demo") and first[1].startswith("scripts/test")
    ci = (REPO / ".ci/run").read_text()
    assert "scripts/test" in ci


def test_scripts_and_paths_named_exist() -> None:
    for command in COMMANDS:
        for word in command.split():
            if word.startswith(("scripts/", "examples/", ".venv/bin/python")) and "*" not in word:
                path = REPO / word.split("=")[-1]
                if word.startswith(".venv/"):
                    continue
                assert path.exists(), f"README names {word}, which does not exist"
                if word.startswith("scripts/") and not word.endswith(".py"):
                    assert os.access(path, os.X_OK), f"{word} is not executable"


def test_mlk_commands_named_exist() -> None:
    names = {c.split()[1] for c in COMMANDS if c.startswith("mlk ")}
    assert names, "the README shows no mlk command"
    for name in names:
        assert run_mlk(name, "--help").exit_code == 0, f"README shows `mlk {name}`, which does not exist"


def test_readme_validate_examples_work() -> None:
    result = run_mlk(
        "validate", "-f", "examples/endpoint.yml", "-f", "examples/blue.yml", "-f", "examples/green.yml", cwd=REPO
    )
    assert result.exit_code == 0, result.stderr
