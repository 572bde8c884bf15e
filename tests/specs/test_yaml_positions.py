"""Reading YAML with positions: values, keys, merge keys, duplicates, syntax errors."""

from __future__ import annotations

import pytest

from mlk.errors import SpecError
from mlk.specs.yamlpos import parse_text


def test_positions_of_values_and_keys() -> None:
    doc = parse_text("name: ep\ntraffic:\n  blue: 90\nlist:\n  - a\n  - b\n", "f.yml")
    assert doc.data == {"name": "ep", "traffic": {"blue": 90}, "list": ["a", "b"]}
    assert doc.locate(("name",)) == (1, 7)
    assert doc.locate(("traffic", "blue")) == (3, 9)
    assert doc.locate(("traffic", "blue"), key=True) == (3, 3)
    assert doc.locate(("list", 1)) == (6, 5)
    # a mapping is pointed at by its key; a missing field by its closest existing parent
    assert doc.locate(("traffic",)) == (2, 1)
    assert doc.locate(("traffic", "green")) == (2, 1)


def test_merge_keys_and_anchors() -> None:
    text = "base: &b {cpu: 1, memory: 1Gi}\nlimits:\n  <<: *b\n  memory: 2Gi\n"
    doc = parse_text(text, "f.yml")
    assert doc.data["limits"] == {"cpu": 1, "memory": "2Gi"}
    assert doc.problems == []


def test_duplicate_keys_are_problems_not_silently_dropped() -> None:
    doc = parse_text("name: a\nname: b\n", "f.yml")
    assert doc.data == {"name": "b"}
    [problem] = doc.problems
    assert (problem.line, problem.col) == (2, 1)
    assert "duplicate key 'name' (first at line 1)" in problem.message


def test_dates_stay_strings_and_keys_become_strings() -> None:
    doc = parse_text("version: 2024-01-02\n1: one\ntrue: yes\n", "f.yml")
    assert doc.data == {"version": "2024-01-02", "1": "one", "true": True}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: b\n  c: d\n", (2, 4)),
        ("a: [1, 2\n", (2, 1)),
        ("a: 'open\n", (1, 4)),
        ("- a\nb: c\n", (2, 1)),
        ("a: !custom x\n", (1, 4)),
    ],
)
def test_syntax_errors_have_line_and_column(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(SpecError) as caught:
        parse_text(text, "f.yml")
    [problem] = caught.value.problems
    assert (problem.line, problem.col) == where
    assert problem.message.startswith(("YAML syntax error", "unsupported YAML"))


BOMB = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 8)]
)


def test_an_alias_bomb_is_refused_at_once_and_located() -> None:
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        parse_text(BOMB, "bomb.yml")  # 9**8 values if expanded; 475 bytes
    assert time.monotonic() - started < 5  # generous for a loaded CI machine: it takes ~0.1 s
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB
    (problem,) = caught.value.problems
    assert problem.file == "bomb.yml" and "more than 100,000 values" in problem.message


def test_a_recursive_alias_is_a_located_spec_error() -> None:
    with pytest.raises(SpecError) as caught:
        parse_text("name: &x\n  a: *x\n", "self.yml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.col) == (1, 7) and "recursive alias" in problem.message


def test_a_document_nested_too_deeply_is_refused_and_located_not_called_an_alias() -> None:
    with pytest.raises(SpecError) as caught:
        parse_text("name: " + "[" * 500 + "]" * 500 + "\n", "deep.yml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.col) == (1, 107) and "nests more than 100 levels" in problem.message


@pytest.mark.parametrize(
    ("text", "col", "message"),
    [
        ("image: !!float ''\n", 8, "'' is not a valid !!float value"),
        ("a: !!int 500(\n", 4, "'500(' is not a valid !!int value"),
        ("!!timestamp apiVersion: v1\n", 1, "'apiVersion' is not a valid !!timestamp value"),
        ("a: 1\n!!float b: 2\n", 1, "'b' is not a valid !!float value"),
    ],
)
def test_a_tag_that_does_not_fit_its_value_is_a_located_problem(text: str, col: int, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_text(text, "tags.yml")
    (problem,) = caught.value.problems
    assert problem.col == col and problem.message == message


def test_a_key_tagged_as_a_collection_is_a_spec_error() -> None:
    with pytest.raises(SpecError):
        parse_text("!!set tags: a\n", "key.yml")


def test_a_file_larger_than_any_spec_is_refused_unread() -> None:
    with pytest.raises(SpecError, match="more than an Azure ML file"):
        parse_text("a: 1\n" + "#" * (5 * 1024 * 1024), "big.yml")
