"""Query strings the way Flask reads them: `+` is a space, bad %-escapes stay as written, blanks are kept."""

from __future__ import annotations

import json
import re
from typing import Any

_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_INVALID = re.compile(r"[\udc80-\udcff]")


def _unquote(text: str) -> str:
    raw = _PERCENT.sub(lambda m: bytes([int(m[1], 16)]), text.replace("+", " ").encode("utf-8", "surrogateescape"))
    decoded = raw.decode("utf-8", "surrogateescape")
    # bytes that are not UTF-8 go back to the %XX they were written as
    return _INVALID.sub(lambda m: f"%{ord(m[0]) - 0xDC00:02X}", decoded)


def parse_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((_unquote(key), _unquote(value)))
    return pairs


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def query_arguments(query: str) -> dict[str, Any]:
    """azmlinfsrv's GET /score input: each value parsed as JSON when it can be, repeated keys as a list."""
    grouped: dict[str, list[Any]] = {}
    for key, value in parse_pairs(query):
        grouped.setdefault(key, []).append(_json_or_text(value))
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}
