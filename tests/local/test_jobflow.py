"""The job flow's bookkeeping, with a runner that fails to start: what is stored, what `show` says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlk.compute import jobflow, placement
from mlk.errors import ConflictError, ExternalError
from mlk.workspace.home import Workspace, create_workspace

SPEC = {"command": "echo hi", "environment": {"image": "python:3.11-slim"}, "type": "command"}


class Refusing:
    name = "refusing"

    def start_job(self, job: Any, *, say: Any) -> None:
        raise ExternalError("the image build failed: no such base image")

    def poll_job(self, name: str) -> dict[str, Any]:
        raise AssertionError("an ended job is not asked again")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(placement, "job_runner", lambda ws, compute: Refusing())
    return create_workspace("flow")


def test_a_job_that_cannot_start_is_failed_with_the_reason(ws: Workspace) -> None:
    with pytest.raises(ExternalError, match="image build failed"):
        jobflow.create(ws, SPEC, name="broken", local=True, say=print)
    shown = jobflow.show(ws, "broken", metrics=False)
    assert shown["status"] == "Failed"
    assert shown["error"]["message"] == "the job did not start: the image build failed: no such base image"
    assert [row["name"] for row in jobflow.listing(ws)] == ["broken"]
    with pytest.raises(ConflictError, match="already exists"):
        jobflow.create(ws, SPEC, name="broken", local=True, say=print)
