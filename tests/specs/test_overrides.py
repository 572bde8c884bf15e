"""`--set` with az's semantics."""

from __future__ import annotations

import pytest

from mlk.errors import UsageError
from mlk.specs.overrides import apply, parse_path


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("instance_count", ("instance_count",)),
        ("request_settings.request_timeout_ms", ("request_settings", "request_timeout_ms")),
        ("tags.owners[0]", ("tags", "owners", 0)),
        ("resources.limits['nvidia.com/gpu']", ("resources", "limits", "nvidia.com/gpu")),
        ('a["x.y"].b', ("a", "x.y", "b")),
    ],
)
def test_paths(text: str, path: tuple[object, ...]) -> None:
    assert parse_path(text) == path


def test_values_are_json_when_they_parse_and_strings_otherwise() -> None:
    data: dict[str, object] = {"tags": {"owners": ["x"]}, "items": [{"a": 1}]}
    touched = apply(
        data,
        [
            "instance_count=2",
            'traffic={"blue": 100}',
            "description=hello world",
            "tags.owners[0]=ana",
            "tags.owners[1]=bo",
            "items.0.a=5",
            "flag=true",
            "env.MODE=fast",
        ],
    )
    assert data == {
        "tags": {"owners": ["ana", "bo"]},
        "items": [{"a": 5}],
        "instance_count": 2,
        "traffic": {"blue": 100},
        "description": "hello world",
        "flag": True,
        "env": {"MODE": "fast"},
    }
    assert ("items", 0, "a") in touched


@pytest.mark.parametrize("bad", ["no-equals", "=1", "a..b=1", "tags.owners[5]=x", "name.x=1"])
def test_bad_assignments_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        apply({"name": "ep", "tags": {"owners": []}}, [bad])


def test_an_index_must_be_ascii_digits() -> None:
    with pytest.raises(UsageError, match="'²' is not an index"):
        apply({"tags": {"owners": ["ana"]}}, ["tags.owners.²=bo"])  # str.isdigit() says yes; int() says no


def test_a_value_nested_too_deeply_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="nests too deeply"):
        apply({}, ["instance_count=" + "[" * 100_000])
