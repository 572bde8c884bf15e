"""`-o table` and `-o tsv` as az prints them: one row per object, scalar fields only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _rows(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    items = data if isinstance(data, list) else [data]
    rows = []
    for item in items:
        if isinstance(item, dict) or hasattr(item, "items"):
            rows.append({k: v for k, v in item.items() if not isinstance(v, dict | list) and not hasattr(v, "items")})
        else:
            rows.append({"Result": item})
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    return str(value)


def _columns(rows: list[dict[str, Any]], columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _header(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def table(data: Any, columns: Sequence[str] | None = None) -> str:
    rows = _rows(data)
    cols = _columns(rows, columns)
    if not cols:
        return ""
    cells = [[_cell(row.get(c)) for c in cols] for row in rows]
    headers = [_header(c) for c in cols]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def tsv(data: Any, columns: Sequence[str] | None = None) -> str:
    rows = _rows(data)
    cols = _columns(rows, columns)
    return "\n".join("\t".join(_cell(row.get(c)) for c in cols) for row in rows)
