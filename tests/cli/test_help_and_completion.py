"""az's help conveniences: every Examples line is a command mlk parses, and shell completion (bash, zsh, fish,
PowerShell) completes nouns, verbs and options of commands that the fast start-up registers lazily."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from typing import Any

import pytest
import typer

from mlk.cli.app import NOUNS, build, expand_multi
from mlk.cli.examples import EXAMPLES


@pytest.mark.parametrize(("noun", "verb"), sorted(EXAMPLES))
def test_every_example_parses(noun: str, verb: str) -> None:
    for _, line in EXAMPLES[(noun, verb)]:
        argv = expand_multi(shlex.split(line)[1:])
        root: Any = typer.main.get_command(build(argv))  # typer's click: a group of groups
        command = root.commands[argv[0]].commands[argv[1]]
        command.make_context(argv[1], argv[2:])  # raises a usage error for an option mlk lacks


def test_help_shows_the_examples() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "mlk", "online-endpoint", "update", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Examples" in shown.stdout and '--traffic "blue=90 green=10"' in shown.stdout


def _complete(words: str) -> list[str]:
    """What bash completion offers after `words` (ending in a space: the next word; else the word begun)."""
    current = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**os.environ, "_MLK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(current)}
    done = subprocess.run([sys.executable, "-m", "mlk"], env=env, capture_output=True, text=True, check=False)
    return done.stdout.split()


def test_completion_knows_the_whole_tree() -> None:
    assert set(NOUNS) <= set(_complete("mlk "))
    assert "invoke" in _complete("mlk online-endpoint ")
    assert "--all-traffic" in _complete("mlk online-deployment create --al")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_scripts_for_each_shell(shell: str) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "mlk", "--show-completion", shell], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0 and "_MLK_COMPLETE" in shown.stdout, shown.stderr
