"""`mlk configure`: az's [defaults] in mlk's config file, $AZURE_DEFAULTS_*, and the workspace they pick."""

from __future__ import annotations

import configparser
import json
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlk.cli import configure_cmd
from mlk.cli.console import Settings, console
from mlk.workspace.home import current_name
from tests.conftest import Result, run_mlk


def configure(*args: str) -> Result:
    """`mlk configure ARGS` through the command's own registration (as mlk.cli.app's build() does it)."""
    console.settings = Settings()
    app = typer.Typer(add_completion=False)
    app.callback()(lambda: None)  # keeps `configure` a subcommand, as under the real root
    configure_cmd.register(app)
    result = CliRunner().invoke(app, ["configure", *args])
    return Result(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("MLK_WORKSPACE", "AZURE_DEFAULTS_WORKSPACE", "AZURE_DEFAULTS_GROUP", "AZURE_CORE_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_defaults_are_an_ini_files_defaults_section_owner_only(home: Path) -> None:
    done = configure("--defaults", "workspace=ws1", "group=rg1")  # az's several pairs after one flag
    assert done.exit_code == 0, done.stderr
    assert done.stdout == ""  # az prints nothing either
    parser = configparser.ConfigParser()
    parser.read(home / "config")
    assert dict(parser["defaults"]) == {"workspace": "ws1", "group": "rg1"}
    assert stat.S_IMODE((home / "config").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_other_sections_and_values_are_kept(home: Path) -> None:
    home.mkdir(mode=0o700)
    (home / "config").write_text("[core]\noutput = table\n\n[defaults]\ngroup = rg0\n")
    assert configure("-d", "workspace=ws1", "--defaults", "location=here").exit_code == 0
    parser = configparser.ConfigParser()
    parser.read(home / "config")
    assert parser["core"]["output"] == "table"
    assert dict(parser["defaults"]) == {"group": "rg0", "workspace": "ws1", "location": "here"}


def test_list_defaults_names_each_source_and_the_environment_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure("--defaults", "workspace=ws1", "group=rg1")
    monkeypatch.setenv("AZURE_DEFAULTS_GROUP", "rg-env")
    listed = configure("--list-defaults", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {"name": "group", "source": "AZURE_DEFAULTS_GROUP", "value": "rg-env"},
        {"name": "workspace", "source": str(home / "config"), "value": "ws1"},
    ]


def test_an_empty_value_clears_a_default(home: Path) -> None:
    configure("--defaults", "workspace=ws1", "group=rg1")
    assert configure("--defaults", "workspace=''").exit_code == 0  # the shell left the quotes in, as az allows
    assert configure("--defaults", "group=").exit_code == 0
    assert json.loads(configure("-l", "-o", "json").stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--defaults", "workspace"], "usage error: --defaults STRING=STRING STRING=STRING ..."),
        (["--defaults", "=x"], "usage error: --defaults STRING=STRING STRING=STRING ..."),
        (["workspace=ws1"], "name=value pairs go after --defaults"),
        ([], "needs --defaults or --list-defaults"),
    ],
)
def test_usage_errors(home: Path, args: list[str], message: str) -> None:
    done = configure(*args)
    assert done.exit_code == 2 and message in done.stderr
    assert not (home / "config").exists()


def test_a_default_workspace_that_does_not_exist_yet_is_a_warning(home: Path) -> None:
    done = configure("--defaults", "workspace=later")
    assert done.exit_code == 0 and "workspace 'later' does not exist yet" in done.stderr


# --- which workspace a command uses: -w > $MLK_WORKSPACE > the configured default > the current one -------


def test_the_workspace_is_the_flag_then_mlk_workspace_then_the_default_then_the_current_one(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir(mode=0o700)
    (home / "config.json").write_text('{"workspace": "current"}')
    assert current_name() == "current"
    configure("--defaults", "workspace=configured")
    assert current_name() == "configured"
    monkeypatch.setenv("AZURE_DEFAULTS_WORKSPACE", "from-az-env")
    assert current_name() == "from-az-env"
    monkeypatch.setenv("MLK_WORKSPACE", "from-mlk-env")
    assert current_name() == "from-mlk-env"
    assert current_name("flag") == "flag"
    monkeypatch.delenv("MLK_WORKSPACE")
    monkeypatch.setenv("AZURE_DEFAULTS_WORKSPACE", "")  # set but empty: no default, as in az
    assert current_name() == "current"


def test_commands_use_the_configured_workspace(home: Path) -> None:
    for name in ("ws-a", "ws-b"):
        assert run_mlk("workspace", "create", name, "-o", "none").exit_code == 0
    configure("--defaults", "workspace=ws-b")
    listed = json.loads(run_mlk("workspace", "list", "-o", "json").stdout)
    assert {row["name"]: row["current"] for row in listed} == {"ws-a": False, "ws-b": True}
    assert json.loads(run_mlk("workspace", "show", "-o", "json").stdout)["name"] == "ws-b"
    assert json.loads(run_mlk("workspace", "show", "-w", "ws-a", "-o", "json").stdout)["name"] == "ws-a"
