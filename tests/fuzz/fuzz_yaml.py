"""Fuzz target: a YAML file through the whole spec pipeline (mlk.specs: read, parse with positions,
recognise, schema, rules, defaults, resolve).

The input is the file's bytes. It is loaded as `mlk validate -f FILE` would (kind detected), and once more
as one kind named on the command line (picked by the input's last byte); relative paths resolve against
examples/, so the examples' own files exist. Invariants: only SpecError escapes; every problem is located
(line and column from 1) and renders; a message about a recursive alias comes only from a file with an
alias; a file that loads gives a JSON-serialisable spec (what the manifests are rendered from).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlk.errors import SpecError
from mlk.specs.kinds import KINDS, Kind
from mlk.specs.load import load_document, read_document
from tests.fuzz.harness import check

MAX_LEN = 8192
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_KINDS = list(KINDS.values())


def TestOneInput(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="mlk-fuzz-") as folder:
        file = Path(folder) / "spec.yml"
        file.write_bytes(data)
        _load(file, data, None)
        if data:
            _load(file, data, _KINDS[data[-1] % len(_KINDS)])


def _load(file: Path, data: bytes, kind: Kind | None) -> None:
    try:
        spec = load_document(read_document(file), EXAMPLES, kind=kind)
    except SpecError as exc:
        check(isinstance(exc.message, str) and exc.message, "a SpecError without a message")
        for problem in exc.problems:
            check_problem(problem, data)
        return
    for problem in spec.warnings:
        check_problem(problem, data)
    check(isinstance(spec.data, Mapping), "the spec is not a mapping")
    try:
        json.dumps(dict(spec.data), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"a valid {spec.kind.name} spec is not JSON: {exc}") from exc


def check_problem(problem: object, data: bytes) -> None:
    from mlk.specs.problems import Problem

    check(isinstance(problem, Problem), f"a problem of type {type(problem).__name__}")
    assert isinstance(problem, Problem)
    check(isinstance(problem.line, int) and problem.line >= 1, f"problem at line {problem.line!r}")
    check(isinstance(problem.col, int) and problem.col >= 1, f"problem at column {problem.col!r}")
    check(isinstance(problem.message, str) and problem.message, "a problem without a message")
    problem.render()
    if "recursive alias" in problem.message or "refers to a block that contains it" in problem.message:
        check(b"*" in data or b"<<" in data, f"'{problem.message}' for a file without an alias")
