"""get-logs --lines N prints at most N lines whatever the number of replicas (az's --lines)."""

from __future__ import annotations

import pytest

from mlk.workspace.replica_logs import joined


def log(name: str, count: int) -> str:
    return "".join(f"{name} line {i}\n" for i in range(count))


@pytest.mark.parametrize("lines", [1, 2, 3, 5, 7, 100, 5000])
@pytest.mark.parametrize("replicas", [1, 2, 3, 10])
def test_never_more_than_asked(lines: int, replicas: int) -> None:
    sections = [(f"r{i}", log(f"r{i}", 50)) for i in range(replicas)]
    printed = joined(sections, lines).splitlines()
    assert 1 <= len(printed) <= lines
    assert printed[-1] == f"r{replicas - 1} line 49"  # the latest replica's last line always shows


def test_one_replica_is_its_last_lines_without_a_header() -> None:
    assert joined([("r0", log("r0", 10))], 3) == "r0 line 7\nr0 line 8\nr0 line 9"


def test_several_share_the_lines_each_headed() -> None:
    assert joined([("a", log("a", 10)), ("b", log("b", 10))], 6).splitlines() == [
        "--- a ---",
        "a line 8",
        "a line 9",
        "--- b ---",
        "b line 8",
        "b line 9",
    ]


def test_everything_when_the_logs_are_short() -> None:
    assert joined([("a", "x\n"), ("b", "")], 5000) == "--- a ---\nx\n--- b ---"
    assert joined([], 10) == ""
