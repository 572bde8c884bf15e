"""The JSON Schemas in schemas/: found inside the installed package or the source checkout, loaded once."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


@cache
def schema_dir() -> Traversable:
    """`mlk/schemas` inside a wheel; the repository's top-level `schemas/` in a source checkout."""
    packaged = resources.files("mlk") / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def load_schema(file: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((schema_dir() / file).read_text(encoding="utf-8"))
    return schema


@cache
def validator(file: str) -> Validator:
    """A Draft 2020-12 validator for one schema file (jsonschema is imported only here: it is slow to load)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(file))


def schema_files() -> list[str]:
    return sorted(p.name for p in schema_dir().iterdir() if p.name.endswith(".schema.json"))
