"""schemas/ is the single source of truth: valid JSON Schema, addressable, consistent, shipped in the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mlk.specs.kinds import KINDS
from mlk.specs.schemas import schema_files
from tests.conftest import REPO

SCHEMAS = sorted((REPO / "schemas").glob("*.schema.json"))


def test_every_kind_has_its_schema() -> None:
    assert {k.schema_file for k in KINDS.values()} == {p.name for p in SCHEMAS} == set(schema_files())


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12_with_an_id(path: Path) -> None:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + path.name)
    assert schema.get("title") and schema.get("description")


def test_shared_definitions_do_not_drift() -> None:
    """Each schema is self-contained (editors resolve no cross-file refs); copies of a $def must agree."""
    seen: dict[str, tuple[str, object]] = {}
    for path in SCHEMAS:
        for name, definition in json.loads(path.read_text()).get("$defs", {}).items():
            if name in seen:
                assert definition == seen[name][1], f"$defs/{name} differs between {seen[name][0]} and {path.name}"
            else:
                seen[name] = (path.name, definition)


@pytest.mark.slow
def test_wheel_ships_the_schemas(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (scripts/setup installs it)")
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(tmp_path), str(REPO)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("mlk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in SCHEMAS:
        assert f"mlk/schemas/{path.name}" in names
