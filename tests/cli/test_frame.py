"""The CLI frame: help, version, the error presenter, exit codes, and what start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlk import __version__
from mlk.cli.console import Console
from mlk.cli.presenter import present
from mlk.errors import ConflictError, ExternalError, MlkError, NotFoundError, OperationTimeout, UsageError
from tests.conftest import REPO, run_mlk, run_mlk_process


def test_help_lists_commands_and_global_options() -> None:
    result = run_mlk("--help")
    assert result.exit_code == 0
    for text in ("validate", "--output", "--query", "--only-show-errors", "Exit codes"):
        assert text in result.stdout


def test_every_command_has_help() -> None:
    from typer.main import get_command

    from mlk.cli.app import build

    group = get_command(build())
    for name in group.list_commands(None):  # type: ignore[attr-defined, arg-type]
        sub = group.get_command(None, name)  # type: ignore[attr-defined, arg-type]
        commands = [[name, c] for c in sub.list_commands(None)] if hasattr(sub, "list_commands") else [[name]]
        for words in commands:
            result = run_mlk(*words, "--help")
            assert result.exit_code == 0 and "--output" in result.stdout, words


def test_version() -> None:
    assert run_mlk("--version").stdout.strip() == f"mlk {__version__}"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (MlkError("x"), 1),
        (UsageError("x"), 2),
        (NotFoundError("x"), 3),
        (ConflictError("x"), 4),
        (OperationTimeout("x"), 5),
        (ExternalError("x"), 6),
        (KeyboardInterrupt(), 130),
        (ValueError("boom"), 1),
    ],
)
def test_presenter_exit_codes(error: BaseException, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert present(error, Console()) == code
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "Traceback" not in err


def test_presenter_shows_hint_and_debug_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    present(NotFoundError("endpoint 'x' not found", hint="mlk online-endpoint list"), console)
    assert capsys.readouterr().err == "ERROR: endpoint 'x' not found\nhint: mlk online-endpoint list\n"
    console.settings.debug = True
    try:
        raise ValueError("boom")
    except ValueError as exc:
        present(exc, console)
    assert "Traceback" in capsys.readouterr().err


def test_unexpected_errors_say_bug_without_traceback(tmp_path: object) -> None:
    proc = run_mlk_process("validate", "-f", str(REPO / "examples/endpoint.yml"), "--query", "name", "-o", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == "my-endpoint"


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys; sys.argv=['mlk','--help']\n"
        "from mlk.cli import main\n"
        "try: main()\n"
        "except SystemExit: pass\n"
        "heavy = {'jsonschema','yaml','rich','jmespath','kubernetes','azure','docker','kopf'}\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
