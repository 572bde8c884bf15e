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


def parse_value(raw: str, where: str, *, force_string: bool = False) -> Any:
    """A --set/--add value: JSON when it reads as JSON, else the text (always the text with --force-string)."""
    if force_string:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
    except RecursionError:
        raise UsageError(
            f"{where}: the value nests too deeply to read",
            hint="a value is a plain value or a small JSON list or mapping",
        ) from None


def parse_assignment(text: str, *, force_string: bool = False) -> tuple[JsonPath, Any]:
    path, sep, raw = text.partition("=")
    if not sep:
        raise UsageError(f"--set '{text}': expected path=value", hint="e.g. --set instance_count=2")
    return parse_path(path.strip()), parse_value(raw, f"--set '{path.strip()}=...'", force_string=force_string)


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


def apply(data: dict[str, Any], assignments: Iterable[str], *, force_string: bool = False) -> set[JsonPath]:
    """Apply each `path=value` in order; returns the (normalised) paths set."""
    touched: set[JsonPath] = set()
    for text in assignments:
        path, value = parse_assignment(text, force_string=force_string)
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


def _walk(data: dict[str, Any], path: JsonPath, text: str) -> Any:
    """The value at `path` (it must be there: --add and --remove change what exists)."""
    holder: Any = data
    for part in path:
        try:
            holder = holder[part if isinstance(holder, dict) else int(part)]
        except (KeyError, IndexError, ValueError, TypeError):
            raise UsageError(
                f"{text}: there is nothing at '{part}'", hint="show the resource to see its fields"
            ) from None
    return holder


def add(data: dict[str, Any], path_text: str, values: Iterable[str], *, force_string: bool = False) -> None:
    """az's `--add PATH VALUE...`: append to the list at PATH; `key=value` words make one mapping item, a
    mapping at PATH takes them as keys instead."""
    text = f"--add {path_text}"
    target = _walk(data, parse_path(path_text), text)
    words = list(values)
    if not words:
        raise UsageError(f"{text}: give the value to add", hint="e.g. --add tags owner=ana, or --add list.path 3")
    pairs = [w.partition("=") for w in words]
    if all(sep and key for key, sep, _ in pairs):
        item: Any = {key: parse_value(raw, text, force_string=force_string) for key, _, raw in pairs}
        if isinstance(target, dict):
            target.update(item)
            return
        items = [item]
    else:
        items = [parse_value(w, text, force_string=force_string) for w in words]
    if not isinstance(target, list):
        raise UsageError(f"{text}: the value there is not a list", hint="use --set for a single field")
    target.extend(items)


def remove(data: dict[str, Any], path_text: str, index: str | None = None) -> None:
    """az's `--remove PATH [INDEX]`: drop the field at PATH, or item INDEX of the list at PATH."""
    text = f"--remove {path_text}"
    path = parse_path(path_text)
    if index is not None:
        target = _walk(data, path, text)
        if not isinstance(target, list):
            raise UsageError(f"{text} {index}: the value there is not a list", hint=f"--remove {path_text} alone")
        try:
            del target[int(index)]
        except (ValueError, IndexError):
            raise UsageError(f"{text} {index}: not an index of a list of {len(target)}") from None
        return
    parent = _walk(data, path[:-1], text)
    last = path[-1]
    try:
        del parent[last if isinstance(parent, dict) else int(last)]
    except (KeyError, IndexError, ValueError, TypeError):
        raise UsageError(f"{text}: there is nothing at '{last}'", hint="show the resource to see its fields") from None
