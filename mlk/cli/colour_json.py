"""`-o jsonc`: JSON with ANSI colours for a terminal (keys, strings, numbers, literals)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)')
_KEY, _STRING, _LITERAL, _NUMBER, _RESET = "\033[94m", "\033[32m", "\033[35m", "\033[36m", "\033[0m"


def colourise(text: str) -> str:
    def paint(match: re.Match[str]) -> str:
        string, colon, literal, number = match.groups()
        if string is not None:
            return f"{_KEY if colon else _STRING}{string}{_RESET}{colon or ''}"
        if literal is not None:
            return f"{_LITERAL}{literal}{_RESET}"
        return f"{_NUMBER}{number}{_RESET}"

    return _TOKEN.sub(paint, text)
