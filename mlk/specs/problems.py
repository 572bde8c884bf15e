"""A located problem in a spec file, and its one-line rendering `FILE:LINE:COL: $.path: message`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

JsonPath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


def format_path(path: JsonPath) -> str:
    """`$.a.b[0]` for plain keys and indexes; `$.resources.limits['nvidia.com/gpu']` otherwise."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            out += f"['{part}']"
    return out


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or suspicious) in one file."""

    file: str
    """The file as the user named it."""
    line: int
    """1-based line of the offending node (or of the closest parent that exists)."""
    col: int
    """1-based column."""
    path: JsonPath
    """Where in the document: keys and list indexes from the root."""
    message: str
    """What is wrong and, where it helps, what to write instead."""
    severity: Severity = Severity.ERROR

    def as_data(self) -> dict[str, str | int]:
        """The problem as `mlk validate -o json` prints it, for scripts and editors."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.col,
            "path": format_path(self.path),
            "message": self.message,
            "severity": self.severity.value,
        }

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}: {format_path(self.path)}: "
        if self.severity is Severity.WARNING:
            return where + "warning: " + self.message
        return where + self.message
