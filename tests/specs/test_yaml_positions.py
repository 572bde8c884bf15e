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
