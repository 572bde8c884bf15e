"""What `get-logs --lines N` prints on every compute: at most N lines in all, as az's --lines is the length
of what it prints. One replica's log is its last N lines; several share the N equally, each headed by its
name, and when N cannot give each replica its header and a line, the latest replicas are shown."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LINES = 5000
"""az's limit on --lines (and its default)."""


def joined(sections: Sequence[tuple[str, str]], lines: int) -> str:
    """`sections` are (replica name, its log) in the order to print; the result has at most `lines` lines."""
    if lines <= 0 or not sections:
        return ""
    if len(sections) == 1:
        return _last(sections[0][1], lines)
    shown = list(sections)[-max(1, lines // 2) :] if lines < 2 * len(sections) else list(sections)
    if len(shown) == 1:
        return _last(shown[0][1], lines)
    share = lines // len(shown)
    return "\n".join(f"--- {name} ---\n{_last(text, share - 1)}".rstrip("\n") for name, text in shown)


def _last(text: str, count: int) -> str:
    kept = text.rstrip("\n").splitlines()[-count:] if count > 0 else []
    return "\n".join(kept)
