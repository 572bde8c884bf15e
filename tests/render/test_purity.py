"""mlk.render is pure: it imports no I/O library and reads no file but schemas/ (through mlk.specs.schemas)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlk.render

RENDER = Path(mlk.render.__file__).parent
ALLOWED = {
    "__future__",
    "base64",
    "collections",
    "copy",
    "dataclasses",
    "functools",
    "hashlib",
    "json",  # dumps/loads of Secret payloads: text, not I/O
    "jsonschema",  # crdcheck only, imported where used (it is slow to load)
    "math",
    "re",
    "shlex",
    "typing",
    "mlk",  # __version__ for the default system image
    "mlk.errors",
    "mlk.specs.kinds",
    "mlk.specs.quantity",
    "mlk.specs.relative",
    "mlk.specs.schemas",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(RENDER.glob("*.py")), ids=lambda p: p.name)
def test_imports_only_pure_modules(path: Path) -> None:
    assert _unexpected(_imports(path)) == set(), f"{path.name} imports I/O or unexpected modules"


def _unexpected(modules: set[str]) -> set[str]:
    """Modules outside the allowed set; a package allows its submodules (collections.abc), mlk does not."""
    return {
        m
        for m in modules
        if not m.startswith("mlk.render")
        and m not in ALLOWED
        and (m.startswith("mlk") or m.split(".")[0] not in ALLOWED)
    }


def test_the_check_catches_io_imports() -> None:
    assert _unexpected({"subprocess", "kubernetes.client", "mlk.storage.blob", "os"}) == {
        "subprocess",
        "kubernetes.client",
        "mlk.storage.blob",
        "os",
    }
    assert _unexpected({"collections.abc", "mlk.render.names", "mlk.specs.schemas"}) == set()


@pytest.mark.parametrize("path", sorted(RENDER.glob("*.py")), ids=lambda p: p.name)
def test_modules_are_small_and_explained(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 260, f"{path.name} has grown past one job"
    assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"
    assert "from __future__ import annotations" in text
