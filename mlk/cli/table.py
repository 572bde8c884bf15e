"""`-o table` and `-o tsv` byte for byte as az prints them.

az's generic rules (knack's output module) decide what a row holds; its table layout is tabulate's
"simple" format with number parsing off. Facts this module reproduces, each checked against knack 0.14
by tests/cli/test_knack_output.py:

- table: a list is one row per item, anything else one row. A mapping's keys are sorted unless a --query
  or a command's table transformer chose them; `id`, `type` and `etag` are left out, and so is every
  null, list, mapping or set value (an empty string stays). The header upper-cases the first character
  only (`provisioning_state` → `Provisioning_state`). A list item gives Column1, Column2…; a scalar item a
  Result column. Cells are str() of the value (`True`, not `true`), trimmed, left-aligned; a column is as
  wide as its widest cell and at least its header plus two; lines lose trailing blanks. Nothing to show
  is one empty line.
- tsv: no header; one line per item; a mapping's values in sorted-key order (in the query's order when
  a --query built the mapping); inside a line a list is its length, a mapping is empty, null is `None`
  and a boolean `True`; a boolean that is the whole line is `true`.
"""

from __future__ import annotations

import re
from typing import Any

_SKIPPED_KEYS = frozenset({"id", "type", "etag"})
_GAP = "  "
_MIN_PADDING = 2  # a column is at least its header plus two wide

# Colour codes (CSI) and terminal hyperlinks (OSC 8, whose text is what shows) take no width on screen.
_CSI = re.compile(r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]")
_OSC8 = re.compile(r"\x1b\]8;(?:\w+=\w+:?)*;[^\x1b]+\x1b\\([^\x1b]+)\x1b\]8;;\x1b\\")


class Picked(dict[str, Any]):
    """A mapping a --query built (`{a: x, b: y}`): knack gets these as OrderedDicts and keeps their key
    order in -o tsv, while mappings taken whole from the result are printed in sorted-key order."""


# --- table ---------------------------------------------------------------------------------------------


def _header(key: str) -> str:
    return key[:1].upper() + key[1:]


def _row(item: Any, sort_keys: bool) -> dict[str, Any]:
    if isinstance(item, dict):
        keys = sorted(item) if sort_keys else list(item)
        row: dict[str, Any] = {}
        for key in keys:
            value = item[key]
            if key in _SKIPPED_KEYS or value is None or isinstance(value, list | dict | set):
                continue
            row[_header(key)] = value
        return row
    if isinstance(item, list):
        return {f"Column{n}": value for n, value in enumerate(item, 1)}
    return {"Result": item}


def _width(text: str) -> int:
    return len(_CSI.sub("", _OSC8.sub(r"\1", text)))


def _line_width(text: str) -> int:
    """The widest line's width (a cell without line breaks is one line)."""
    return max(_width(part) for part in re.split("[\r\n]", text))


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _join(cells: list[str]) -> str:
    return _GAP.join(cells).rstrip()


def table(data: Any, *, sort_keys: bool = True) -> str:
    """The text az writes for `data` with -o table, final newline included."""
    rows = [_row(item, sort_keys) for item in (data if isinstance(data, list) else [data])]
    headers: dict[str, None] = {}  # every row's columns, in first-seen order
    for row in rows:
        headers.update(dict.fromkeys(row))
    if not headers:
        return "\n"
    raw = [["" if row.get(h) is None else str(row.get(h)) for h in headers] for row in rows]
    # A line break anywhere (even one that trimming removes) switches tabulate to its multi-line layout.
    multiline = any("\n" in s or "\r" in s for s in [*headers, *(cell for line in raw for cell in line)])
    cells = [[cell.strip() for cell in line] for line in raw]
    widths = [
        max(_line_width(header) + _MIN_PADDING, *(_line_width(line[i]) for line in cells))
        for i, header in enumerate(headers)
    ]
    head = list(headers)
    rule = _join(["-" * w for w in widths])
    if not multiline:
        lines = [_join([_pad(h, w) for h, w in zip(head, widths, strict=True)]), rule]
        lines += [_join([_pad(c, w) for c, w in zip(line, widths, strict=True)]) for line in cells]
        return "\n".join(lines) + "\n"
    lines = [*_multiline_row(head, widths), rule]
    for line in cells:
        lines += _multiline_row(line, widths)
    return "\n".join(lines) + "\n"


def _multiline_row(cells: list[str], widths: list[int]) -> list[str]:
    """One row whose cells may span several lines: each cell's lines padded, short cells topped up with
    blank lines (a row whose cells are all empty takes no line at all, as in tabulate)."""
    split = [[_pad(part, w) for part in cell.splitlines()] for cell, w in zip(cells, widths, strict=True)]
    height = max(len(parts) for parts in split)
    for parts, w in zip(split, widths, strict=True):
        parts.extend([" " * w] * (height - len(parts)))
    return [_join([parts[n] for parts in split]) for n in range(height)]


# --- tsv -----------------------------------------------------------------------------------------------


def _field(value: Any) -> str:
    if isinstance(value, list):
        return str(len(value))  # knack keeps the column count stable: a list shows its length
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)


def tsv(data: Any) -> str:
    """The text az writes for `data` with -o tsv, final newline included (nothing for an empty list)."""
    lines = []
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, Picked):
            values: list[Any] = list(item.values())
        elif isinstance(item, dict):
            values = [item[key] for key in sorted(item)]
        elif isinstance(item, list):
            values = item
        else:
            lines.append(str(item).lower() if isinstance(item, bool) else _field(item))
            continue
        lines.append("\t".join(_field(value) for value in values))
    return "".join(line + "\n" for line in lines)
