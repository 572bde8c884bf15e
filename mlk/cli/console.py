"""The one console: renders results exactly as az does (-o json|jsonc|yaml|yamlc|table|tsv|none, after
--query), and messages to stderr.

az's settings count as they do for az: $AZURE_CORE_OUTPUT, $AZURE_CORE_ONLY_SHOW_ERRORS and
$AZURE_CORE_NO_COLOR, else [core] output / only_show_errors / no_color in mlk's config file (the INI
file `mlk configure` writes); -o and --only-show-errors win over them. A configured output format counts
as an -o: it replaces a command's human summary, as it replaces az's default.

Heavy renderers (yaml, jmespath, pygments) are imported only when a result is actually rendered with them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from mlk.errors import UsageError

FORMATS = ("json", "jsonc", "yaml", "yamlc", "table", "tsv", "none")
_RED, _YELLOW, _DIM, _RESET = "\033[31m", "\033[33m", "\033[2m", "\033[0m"
# az's booleans (knack's config): anything else is an error, not false.
_BOOLEANS = {"1": True, "yes": True, "true": True, "on": True, "0": False, "no": False, "false": False, "off": False}


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _source(option: str) -> str:
    variable = f"AZURE_CORE_{option.upper()}"
    if variable in os.environ:
        return f"${variable}"
    from mlk.workspace.home import config_file

    return f"[core] {option} in {config_file()}"


def _az_setting(option: str) -> Any:
    """[core] `option` as az reads it: a format name (None when unset) for `output`, else a boolean."""
    from mlk.workspace.home import configured

    value = configured("core", option)
    if option == "output":
        if not value:
            return None
        if value.lower() not in FORMATS:
            raise UsageError(f"{_source(option)}: '{value}' is not a format", hint="use one of: " + ", ".join(FORMATS))
        return value.lower()
    if value is None:
        return False
    if value.lower() not in _BOOLEANS:
        raise UsageError(f"{_source(option)}: '{value}' is not a boolean", hint="true/false, yes/no, on/off or 1/0")
    return _BOOLEANS[value.lower()]


@dataclass
class Settings:
    """The global options, as az has them; set at the root and/or after any command."""

    output: str | None = None
    query: str | None = None
    verbose: bool = False
    debug: bool = False
    only_show_errors: bool = False
    workspace: str | None = None
    resource_group: str | None = None
    """az's -g: accepted so Azure's scripts run, and ignored (mlk has no resource groups)."""
    from_az: dict[str, Any] = field(default_factory=dict, repr=False)
    """az's [core] settings ($AZURE_CORE_*, then the config file), each read once."""


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out, self._err = out, err
        self.settings = Settings()

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def configure(self, **values: Any) -> None:
        """Options given after a command win over those given before it."""
        for name, value in values.items():
            if value not in (None, False):
                setattr(self.settings, name, value)
        if self.settings.output is not None:
            self.settings.output = self.settings.output.lower()  # az takes -o TABLE too
            if self.settings.output not in FORMATS:
                raise UsageError(
                    f"--output '{self.settings.output}' is not a format", hint="use one of: " + ", ".join(FORMATS)
                )
        # az reads its booleans when it starts, so a bad one fails every command; $AZURE_CORE_OUTPUT only
        # matters (and is only checked) when no -o is given.
        self._az("only_show_errors")
        self._az("no_color")

    def _az(self, option: str) -> Any:
        cache = self.settings.from_az
        if option not in cache:
            cache[option] = None if option == "output" else False  # what stands once a bad value was reported
            cache[option] = _az_setting(option)
        return cache[option]

    @property
    def quiet(self) -> bool:
        """--only-show-errors, or az's only_show_errors setting."""
        return bool(self.settings.only_show_errors or self._az("only_show_errors"))

    def _coloured(self, stream: TextIO) -> bool:
        return _colour(stream) and not self._az("no_color")

    # --- messages (stderr) -------------------------------------------------------------------------------
    def _line(self, text: str, colour: str = "") -> None:
        if colour and self._coloured(self.err):
            text = f"{colour}{text}{_RESET}"
        print(text, file=self.err, flush=True)

    def error(self, text: str) -> None:
        self._line(f"ERROR: {text}", _RED)

    def warning(self, text: str) -> None:
        if not self.quiet:
            self._line(f"WARNING: {text}", _YELLOW)

    def info(self, text: str) -> None:
        """Progress and notes: shown unless --only-show-errors."""
        if not self.quiet:
            self._line(text)

    def verbose(self, text: str) -> None:
        if self.settings.verbose or self.settings.debug:
            self._line(text, _DIM)

    def hint(self, text: str) -> None:
        self._line(f"hint: {text}", _DIM)

    def problem(self, text: str, *, warning: bool = False) -> None:
        if warning and self.quiet:
            return
        self._line(text, _YELLOW if warning else "")

    # --- results (stdout) --------------------------------------------------------------------------------
    def result(
        self,
        data: Any,
        *,
        human: Callable[[], None] | None = None,
        default: str = "json",
        columns: Sequence[str] | None = None,
        table: Callable[[Any], Any] | None = None,
    ) -> None:
        """Print a command's result as az would. Without -o (nor a configured output format), `human` (if
        given) prints a summary instead.

        `table` is the command's table transformer, for the commands az ml gives one (it shapes -o table
        without a --query, and keeps the order of the keys it makes). `columns` is ignored: -o table and
        -o tsv follow az's generic rules, whatever a command's own layout was.
        """
        del columns
        fmt = self.settings.output or self._az("output")
        if fmt is None and human is not None and self.settings.query is None:
            human()
            return
        queried = bool(self.settings.query)
        if self.settings.query:
            data = _query(self.settings.query, data)
        if data is None:  # az prints nothing at all for a command, or a query, whose result is null
            return
        # az colours only when both stdout and stderr are terminals (a redirected stderr loses its colours too)
        colour = self._coloured(self.out) and self.err.isatty()
        text = render(data, fmt or default, colour=colour, queried=queried, table=table)
        self.out.write(text)
        self.out.flush()

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)


def _query(expression: str, data: Any) -> Any:
    import jmespath
    from jmespath.exceptions import JMESPathError

    from mlk.cli.table import Picked

    try:
        # Mappings the query builds are Picked, as knack's are OrderedDicts: -o tsv keeps their key order.
        return jmespath.search(expression, data, jmespath.Options(dict_cls=Picked))
    except JMESPathError as exc:
        raise UsageError(
            f"--query '{expression}': {exc}",
            hint="--query takes JMESPath, e.g. --query name or --query '[].{name:name}'",
        ) from None


def render(
    data: Any,
    fmt: str,
    *,
    colour: bool = False,
    queried: bool = False,
    table: Callable[[Any], Any] | None = None,
) -> str:
    """The exact text az writes for `data` in `fmt`, final newline included ("" for -o none).

    `queried`: `data` is what a --query returned (tables then keep its key order); `table`: the command's
    table transformer (applied to -o table when nothing was queried); `colour`: jsonc/yamlc may colour.
    """
    if fmt in ("json", "jsonc"):
        text = json.dumps(_plain(data), indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n"
        return _colourise(text, "json") if fmt == "jsonc" and colour else text
    if fmt in ("yaml", "yamlc"):
        import yaml

        text = yaml.safe_dump(_plain(data), default_flow_style=False, allow_unicode=True)
        return _colourise(text, "yaml") if fmt == "yamlc" and colour else text
    if fmt == "table":
        from mlk.cli import table as tables

        if table is not None and not queried:  # the transformer chose the columns and their order
            return tables.table(_plain(table(data), picked=True), sort_keys=False)
        return tables.table(_plain(data, picked=True), sort_keys=not queried)
    if fmt == "tsv":
        from mlk.cli.table import tsv

        return tsv(_plain(data, picked=True))
    if fmt == "none":
        return ""
    raise UsageError(f"unknown output format '{fmt}'", hint="use one of: " + ", ".join(FORMATS))


def _colourise(text: str, language: str) -> str:
    from mlk.cli.colour_json import colourise

    return colourise(text, language)


def _plain(data: Any, *, picked: bool = False) -> Any:
    """JSON's shapes: mapping proxies and tuples as dicts and lists (yaml.safe_dump takes nothing else);
    with `picked`, a query's mappings stay Picked, for -o tsv's key order."""
    if isinstance(data, dict) or hasattr(data, "items"):
        from mlk.cli.table import Picked

        kind = Picked if picked and isinstance(data, Picked) else dict
        return kind((k, _plain(v, picked=picked)) for k, v in data.items())
    if isinstance(data, list | tuple):
        return [_plain(v, picked=picked) for v in data]
    return data


console = Console()
