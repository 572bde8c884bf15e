"""A command job's `${{inputs.x}}` / `${{outputs.y}}` bindings, as Azure ML substitutes them.

`$[[ ... ]]` wraps a part of the command that is kept only when every input it names was given (Azure's
optional inputs). Substitution is textual, as Azure's: a literal input becomes its YAML text, a data
input or an output the path where the runner put it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

BINDING = re.compile(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)


def references(command: str) -> list[tuple[str, str]]:
    """The (`inputs`|`outputs`, name) pairs a command names, in order, repeats kept once."""
    seen: dict[tuple[str, str], None] = {}
    for match in BINDING.finditer(command):
        seen.setdefault((match.group(1), match.group(2)), None)
    return list(seen)


def literal_text(value: Any) -> str:
    """A literal input as the command sees it (YAML's spelling of booleans, Python's of numbers)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def bind(command: str, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """The command with its bindings replaced. Optional parts naming an absent input are dropped; a
    binding outside them that names something absent is a KeyError (the spec checks prevent it)."""
    values = {"inputs": inputs, "outputs": outputs}

    def keep(match: re.Match[str]) -> str:
        part = match.group(1)
        present = all(name in values[group] for group, name in references(part))
        return part if present else ""

    kept = OPTIONAL.sub(keep, command)
    return BINDING.sub(lambda m: values[m.group(1)][m.group(2)], kept)
