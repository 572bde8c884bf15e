"""Folder-driven spec tests: every file under valid/ and invalid/ reports exactly its `# expect:` lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlk.errors import SpecError
from mlk.specs import load_spec, read_document
from mlk.specs.kinds import detect
from tests.specs import corpus

VALID = corpus.corpus("valid")
INVALID = corpus.corpus("invalid")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_corpus_is_not_empty() -> None:
    kinds = {p.parent.name for p in VALID}
    assert {
        "online-endpoint",
        "online-deployment",
        "compute",
        "environment",
        "model",
        "instance-type",
        "extension-config",
    } <= kinds
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_file_passes_with_expected_warnings(path: Path, in_repo: Path) -> None:
    assert corpus.reported(path) == corpus.expected(path)
    spec = load_spec(path.relative_to(in_repo), kind=corpus.kind_of(path))
    assert spec.kind.name == path.parent.name


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_file_kind_is_recognised_without_kind_flag(path: Path) -> None:
    found = detect(read_document(path).data)
    assert found.kind is not None and found.kind.name == path.parent.name, found.reason


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_file_reports_exactly_its_expectations(path: Path, in_repo: Path) -> None:
    wanted = corpus.expected(path)
    assert wanted, f"{path} lists no '# expect:' lines"
    with pytest.raises(SpecError):
        load_spec(path.relative_to(in_repo), kind=corpus.kind_of(path))
    assert corpus.reported(path) == wanted
