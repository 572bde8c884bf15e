"""The spec test corpus: YAML files under valid/ and invalid/, one folder per kind, expectations inside.

Each file lists what mlk must report about it in trailing comments:

    # expect: 3:3: $.traffic: traffic sums to 90; it must be 0 or 100
    # expect: ../../fixtures/bad-script/score.py:8:18: $: SyntaxError: expected ':'
    # azure: rejects            (or: accepts — <why mlk is stricter>)

Problems in the file itself are written LINE:COL: ...; problems in files it points at carry that file's
path relative to the YAML file. A new bug report is a new file here. To draft the lines for a new file:

    python tests/specs/corpus.py tests/specs/invalid/online-endpoint/new-case.yml
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NO_KIND = "yaml"  # files in invalid/yaml/ are read without --kind: their problem is the YAML itself


def corpus(state: str) -> list[Path]:
    return sorted((HERE / state).glob("*/*.yml"))


def kind_of(path: Path) -> str | None:
    return None if path.parent.name == NO_KIND else path.parent.name


def expected(path: Path) -> set[str]:
    return {
        line.split("# expect:", 1)[1].strip() for line in path.read_text().splitlines() if line.startswith("# expect:")
    }


def azure_verdict(path: Path) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith("# azure:"):
            return line.split(":", 1)[1].strip().split()[0]
    return None


def relative(problem_file: str, yaml_file: Path) -> str:
    """How an expectation names the file a problem is in ('' for the YAML file itself)."""
    target = (REPO / problem_file).resolve()
    if target == yaml_file.resolve():
        return ""
    return os.path.relpath(target, yaml_file.parent) + ":"


def reported(path: Path) -> set[str]:
    """Run mlk's pipeline on `path` (from the repository root) and render what it reports."""
    from mlk.errors import SpecError
    from mlk.specs import load_spec

    rel = path.relative_to(REPO)
    try:
        problems = list(load_spec(rel, kind=kind_of(path)).warnings)
    except SpecError as exc:
        problems = list(exc.problems) or [exc]  # type: ignore[list-item]
    out = set()
    for p in problems:
        rendered = p.render()  # type: ignore[union-attr]
        where = relative(p.file, path)  # type: ignore[union-attr]
        out.add(where + rendered.split(":", 1)[1] if where else rendered.split(":", 1)[1].lstrip())
    return {line.lstrip() for line in out}


if __name__ == "__main__":
    os.chdir(REPO)
    for arg in sys.argv[1:]:
        for line in sorted(reported(Path(arg).resolve())):
            print(f"# expect: {line}")
