"""Fuzz target: `--set path=value` (mlk.specs.overrides), alone and through the spec pipeline.

The input is the command line's --set values, one per line (decoded as Python decodes argv: UTF-8 with
surrogateescape). They are applied to examples/blue.yml's data, where only UsageError may escape and the
last assignment must be found where it says it put it; then the same file is loaded with them, as
`mlk online-deployment create -f examples/blue.yml --set ...` does, where only UsageError or SpecError may.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mlk.errors import SpecError, UsageError
from mlk.specs import overrides
from mlk.specs.load import load_document
from mlk.specs.yamlpos import parse_text
from tests.fuzz.fuzz_yaml import check_problem
from tests.fuzz.harness import check

MAX_LEN = 4096
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BLUE = EXAMPLES / "blue.yml"
_TEXT = BLUE.read_text(encoding="utf-8")
_DATA = parse_text(_TEXT, str(BLUE)).data


def TestOneInput(data: bytes) -> None:
    assignments = tuple(data.decode("utf-8", "surrogateescape").split("\n")[:8])
    target: dict[str, Any] = copy.deepcopy(_DATA)
    try:
        touched = overrides.apply(target, assignments)
    except UsageError as exc:
        check(isinstance(exc.message, str) and exc.message, "a UsageError without a message")
    else:
        _placed(target, touched, assignments[-1])
    try:
        spec = load_document(parse_text(_TEXT, str(BLUE)), EXAMPLES, set_values=assignments)
    except UsageError:
        return
    except SpecError as exc:
        for problem in exc.problems:
            check_problem(problem, data)
        return
    try:
        json.dumps(dict(spec.data), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"a valid spec (with --set) is not JSON: {exc}") from exc


def _placed(data: dict[str, Any], touched: set[tuple[str | int, ...]], last: str) -> None:
    """The last assignment's value is at the path `apply` reports for it."""
    path, value = overrides.parse_assignment(last)
    found = [t for t in touched if len(t) == len(path) and all(map(_same, t, path))]
    check(found, f"--set {last!r}: {path!r} is not among the paths set {touched!r}")
    holder: Any = data
    for part in found[0]:
        holder = holder[part]
    check(holder == value or holder is value or value != value, f"--set {last!r} put {holder!r}, not {value!r}")


def _same(real: str | int, written: str | int) -> bool:
    if isinstance(real, int) and not isinstance(written, int):
        return written.isdigit() and int(written) == real
    return str(real) == str(written)
