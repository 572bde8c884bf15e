"""`mlk configure`: az's argument defaults, kept as `az configure` keeps them.

`--defaults workspace=W group=G` writes an INI file's [defaults] section: <mlk home>/config, 0600 (az's is
$AZURE_CONFIG_DIR/config); $AZURE_DEFAULTS_<NAME> overrides a stored value, as it does for az. The
`workspace` default is what -w falls back to after $MLK_WORKSPACE (mlk.workspace.home.current_name);
`group` is kept and listed, and otherwise unused: mlk has no resource groups. The same file's [core]
section (output, only_show_errors, no_color) is read by the console, as az reads its own.

Not supported yet from az configure: --scope local (defaults in ./.azure/config for one folder), and
the interactive questions az asks when given no option.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import command

SECTION = "defaults"
_ENV = re.compile(r"AZURE_DEFAULTS_([0-9A-Z_]+)")  # az lists only upper-case variables
_USAGE = "usage error: --defaults STRING=STRING STRING=STRING ..."  # az's own words


def register(app: typer.Typer) -> None:
    command(app, "configure", help="Set or list defaults: --defaults workspace=NAME group=NAME, --list-defaults.")(
        configure
    )


def configure(
    pairs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME=VALUE]...", help="More pairs after --defaults, as az takes them.", show_default=False
        ),
    ] = None,
    defaults: Annotated[
        list[str] | None,
        typer.Option(
            "--defaults",
            "-d",
            metavar="NAME=VALUE",
            help="Space-separated 'name=value' pairs for common argument defaults, e.g. --defaults "
            "workspace=ws group=rg. Use '' to clear one: --defaults workspace=''.",
        ),
    ] = None,
    list_defaults: Annotated[bool, typer.Option("--list-defaults", "-l", help="List all applicable defaults.")] = False,
) -> None:
    """Set defaults (nothing is printed, as with az), or list those that apply and where each comes from."""
    from mlk.errors import UsageError

    if pairs and not defaults:
        raise UsageError(
            f"'{pairs[0]}': name=value pairs go after --defaults", hint=f"mlk configure --defaults {pairs[0]}"
        )
    if defaults:
        _store([_pair(text) for text in [*defaults, *(pairs or [])]])
        return
    if list_defaults:
        console.result(listing())
        return
    raise UsageError(
        "mlk configure needs --defaults or --list-defaults (az's interactive questions are not asked)",
        hint="mlk configure --defaults workspace=NAME group=NAME",
    )


def _pair(text: str) -> tuple[str, str]:
    from mlk.errors import UsageError

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(_USAGE, hint="mlk configure --defaults workspace=NAME group=NAME")
    return name.strip(), "" if value in ("''", '""') else value  # az reads a literal '' as "clear it"


def _parser() -> Any:
    import configparser

    from mlk.errors import UsageError
    from mlk.workspace.home import config_file

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config_file(), encoding="utf-8")
    except configparser.Error as exc:
        raise UsageError(f"{config_file()} is not an INI file: {exc}", hint="fix or remove it") from None
    return parser


def _store(pairs: list[tuple[str, str]]) -> None:
    import io

    from mlk.workspace.files import write_private
    from mlk.workspace.home import config_file, private_home, workspaces

    parser = _parser()  # every other section and value stays as it was
    if not parser.has_section(SECTION):
        parser.add_section(SECTION)
    for name, value in pairs:
        parser.set(SECTION, name, value)
        if name.lower() == "workspace" and value and value not in workspaces():
            console.warning(f"workspace '{value}' does not exist yet: the first command that uses it creates it")
    text = io.StringIO()
    parser.write(text)
    private_home()  # $MLK_HOME 0700, made if needed
    write_private(config_file(), text.getvalue())  # 0600: az keeps its config file owner-only too


def listing() -> list[dict[str, str]]:
    """az's `--list-defaults`: $AZURE_DEFAULTS_* first, then the file's; empty (cleared) ones left out."""
    from mlk.workspace.home import config_file

    found: dict[str, dict[str, str]] = {}
    for variable, value in os.environ.items():
        if match := _ENV.fullmatch(variable):
            found[match.group(1).lower()] = {"name": match.group(1).lower(), "value": value, "source": variable}
    parser = _parser()
    if parser.has_section(SECTION):
        for name, value in parser.items(SECTION):
            found.setdefault(name, {"name": name, "value": value, "source": str(config_file())})
    return [entry for entry in found.values() if entry["value"]]
