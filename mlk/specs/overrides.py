"""`--set path=value`, with az's semantics: dotted paths, list indexes, values parsed as JSON when they can be.

--set instance_count=2
--set request_settings.request_timeout_ms=9000
--set traffic='{"blue": 100}'
--set environment_variables.MODE=fast
--set "resources.limits['nvidia.com/gpu']=1"
--set tags.owners[0]=ana
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from mlk.errors import UsageError
from mlk.specs.problems import JsonPath

_TOKEN = re.compile(r"""\.?(?:\[(?P<index>\d+)\]|\[(?P<q>['"])(?P<quoted>.*?)(?P=q)\]|(?P<plain>[^.\[\]]+))""")


def parse_path(text: str) -> JsonPath:
    """`a.b[0]['x.y']` → ('a', 'b', 0, 'x.y'); numeric dotted parts stay strings until the target is a list."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise UsageError(
                f"--set: cannot read the path '{text}' at '{text[pos:]}'",
                hint="write a.b.c=value, list items as a[0]=value, odd keys as a['x.y']=value",
            )
        if match["index"] is not None:
            parts.append(int(match["index"]))
        else:
            parts.append(match["quoted"] if match["quoted"] is not None else match["plain"])
        pos = match.end()
    if not parts:
        raise UsageError("--set: the path is empty", hint="write --set path=value")
    return tuple(parts)


def parse_assignment(text: str) -> tuple[JsonPath, Any]:
    path, sep, raw = text.partition("=")
    if not sep:
        raise UsageError(f"--set '{text}': expected path=value", hint="e.g. --set instance_count=2")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    except RecursionError:
        raise UsageError(
            f"--set '{path.strip()}=...': the value nests too deeply to read",
            hint="a --set value is a plain value or a small JSON list or mapping",
        ) from None
    return parse_path(path.strip()), value


def _step(holder: Any, part: str | int, text: str, *, create_next: bool) -> Any:
    if isinstance(holder, list):
        index = part if isinstance(part, int) else int(part) if part.isascii() and part.isdigit() else None
        if index is None:
            raise UsageError(f"--set '{text}': '{part}' is not an index, and the value there is a list")
        if index > len(holder):
            raise UsageError(f"--set '{text}': index {part} is outside a list of {len(holder)}")
        if index == len(holder):
            holder.append({} if create_next else None)
        return index
    if isinstance(holder, dict):
        key = str(part)
        if key not in holder and create_next:
            holder[key] = {}
        return key
    raise UsageError(f"--set '{text}': cannot go into {type(holder).__name__} value at '{part}'")


def apply(data: dict[str, Any], assignments: Iterable[str]) -> set[JsonPath]:
    """Apply each `path=value` in order; returns the (normalised) paths set."""
    touched: set[JsonPath] = set()
    for text in assignments:
        path, value = parse_assignment(text)
        holder: Any = data
        real: list[str | int] = []
        for i, part in enumerate(path):
            last = i == len(path) - 1
            step = _step(holder, part, text, create_next=not last)
            real.append(step)
            if last:
                holder[step] = value
            else:
                if holder[step] is None:
                    holder[step] = {}
                holder = holder[step]
        touched.add(tuple(real))
    return touched
