"""Checks of the files a deployment points at: the conda file parses, score.py compiles and has init/run.

az ml compiles score.py before it uploads (`--skip-script-validation` turns that off); mlk does the same
and also checks for init() and run(), whose absence otherwise shows up only as a crash-looping container.
"""

from __future__ import annotations

import ast
from pathlib import Path

from mlk.errors import SpecError
from mlk.specs.paths import shown
from mlk.specs.problems import Problem
from mlk.specs.yamlpos import parse_text


def conda_file_problems(path: Path) -> list[Problem]:
    """A conda file must be a YAML mapping whose dependencies are a list of strings and `pip:` lists."""
    name = shown(path)
    try:
        doc = parse_text(path.read_text(encoding="utf-8"), name)
    except SpecError as exc:
        return list(exc.problems)
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(name, 1, 1, (), f"cannot read the conda file: {exc}")]
    problems = list(doc.problems)
    data = doc.data
    if not isinstance(data, dict):
        return [*problems, Problem(name, 1, 1, (), "a conda file is a mapping with `dependencies:`")]
    deps = data.get("dependencies", [])
    if not isinstance(deps, list):
        line, col = doc.locate(("dependencies",))
        return [*problems, Problem(name, line, col, ("dependencies",), "dependencies must be a list")]
    for i, dep in enumerate(deps):
        ok = isinstance(dep, str) or (
            isinstance(dep, dict)
            and set(dep) == {"pip"}
            and isinstance(dep["pip"], list)
            and all(isinstance(p, str) for p in dep["pip"])
        )
        if not ok:
            line, col = doc.locate(("dependencies", i))
            problems.append(
                Problem(
                    name,
                    line,
                    col,
                    ("dependencies", i),
                    "each dependency is a package spec string, or `pip:` with a list of them",
                )
            )
    return problems


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.If | ast.Try):
            # `try: from fast import run except ImportError: def run(...)` and friends
            inner = ast.Module(
                body=[
                    *node.body,
                    *getattr(node, "orelse", []),
                    *[s for h in getattr(node, "handlers", []) for s in h.body],
                ],
                type_ignores=[],
            )
            names |= _defined_names(inner)
    return names


def scoring_script_problems(path: Path) -> list[Problem]:
    """score.py must compile and define init() and run() at module level."""
    name = shown(path)
    try:
        source = path.read_bytes()
        tree = ast.parse(source, filename=name)
    except SyntaxError as exc:
        return [Problem(name, exc.lineno or 1, exc.offset or 1, (), f"SyntaxError: {exc.msg}")]
    except (OSError, ValueError) as exc:
        return [Problem(name, 1, 1, (), f"cannot read the scoring script: {exc}")]
    defined = _defined_names(tree)
    return [
        Problem(name, 1, 1, (), f"the scoring script defines no {fn}() function; the server needs init() and run()")
        for fn in ("init", "run")
        if fn not in defined
    ]
