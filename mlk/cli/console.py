"""The one console: renders results as -o json|jsonc|yaml|table|tsv|none after --query, and messages to stderr.

Heavy renderers (yaml, jmespath, rich) are imported only when a result is actually rendered with them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from mlk.errors import UsageError

FORMATS = ("json", "jsonc", "yaml", "table", "tsv", "none")
_RED, _YELLOW, _DIM, _RESET = "\033[31m", "\033[33m", "\033[2m", "\033[0m"


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


@dataclass
class Settings:
    """The global options, as az has them; set at the root and/or after any command."""

    output: str | None = None
    query: str | None = None
    verbose: bool = False
    debug: bool = False
    only_show_errors: bool = False
    workspace: str | None = None


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
        if self.settings.output is not None and self.settings.output not in FORMATS:
            raise UsageError(
                f"--output '{self.settings.output}' is not a format", hint="use one of: " + ", ".join(FORMATS)
            )

    # --- messages (stderr) -------------------------------------------------------------------------------
    def _line(self, text: str, colour: str = "") -> None:
        if colour and _colour(self.err):
            text = f"{colour}{text}{_RESET}"
        print(text, file=self.err, flush=True)

    def error(self, text: str) -> None:
        self._line(f"ERROR: {text}", _RED)

    def warning(self, text: str) -> None:
        if not self.settings.only_show_errors:
            self._line(f"WARNING: {text}", _YELLOW)

    def info(self, text: str) -> None:
        """Progress and notes: shown unless --only-show-errors."""
        if not self.settings.only_show_errors:
            self._line(text)

    def verbose(self, text: str) -> None:
        if self.settings.verbose or self.settings.debug:
            self._line(text, _DIM)

    def hint(self, text: str) -> None:
        self._line(f"hint: {text}", _DIM)

    def problem(self, text: str, *, warning: bool = False) -> None:
        if warning and self.settings.only_show_errors:
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
    ) -> None:
        """Print a command's result. Without -o, `human` (if given) prints a summary instead."""
        fmt = self.settings.output
        if fmt is None and human is not None and self.settings.query is None:
            human()
            return
        if self.settings.query:
            data = _query(self.settings.query, data)
            columns = None  # the command's table layout is for its whole result, not for what a query picked
        fmt = fmt or default
        if fmt == "none":
            return
        text = render(data, fmt, columns=columns, colour=_colour(self.out))
        if text:
            print(text, file=self.out, flush=True)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)


def _query(expression: str, data: Any) -> Any:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise UsageError(
            f"--query '{expression}': {exc}",
            hint="--query takes JMESPath, e.g. --query name or --query '[].{name:name}'",
        ) from None


def render(data: Any, fmt: str, *, columns: Sequence[str] | None = None, colour: bool = False) -> str:
    if fmt in ("json", "jsonc"):
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        if fmt == "jsonc" and colour:
            from mlk.cli.colour_json import colourise

            return colourise(text)
        return text
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=120).rstrip("\n")
    if fmt == "table":
        from mlk.cli.table import table

        return table(data, columns)
    if fmt == "tsv":
        from mlk.cli.table import tsv

        return tsv(data, columns)
    raise UsageError(f"unknown output format '{fmt}'", hint="use one of: " + ", ".join(FORMATS))


def _plain(data: Any) -> Any:
    """Mapping proxies and tuples as dicts and lists, so yaml.safe_dump takes them."""
    if isinstance(data, dict) or hasattr(data, "items"):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


console = Console()
