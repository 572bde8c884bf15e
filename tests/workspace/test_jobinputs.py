"""Job output paths and records, without running a job: what a missing job, output or path says."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlk.errors import NotFoundError, UsageError
from mlk.storage.cas import hash_tree, upload_tree
from mlk.storage.jobkeys import output_key
from mlk.workspace import jobs
from mlk.workspace.home import Workspace, create_workspace
from mlk.workspace.jobinputs import job_path, local_copy


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    return create_workspace("train")


def _finished(ws: Workspace, name: str, output: str, folder: Path) -> None:
    jobs.save_record(ws, name, {"spec": {"command": "true"}, "compute": "local", "created": 0})
    manifest = hash_tree(folder)
    with ws.store() as store:
        upload_tree(store, folder, manifest)
        store.put_bytes(output_key(name, output), manifest.digest.encode())


def test_a_job_output_and_a_folder_in_it(ws: Workspace, tmp_path: Path) -> None:
    model = tmp_path / "artifacts" / "model"
    model.mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    _finished(ws, "job_1", "artifacts", tmp_path / "artifacts")
    found = job_path(ws, "azureml://jobs/job_1/outputs/artifacts/paths/model/")
    assert (found / "MLmodel").read_text() == "flavors: {}\n"
    assert job_path(ws, "azureml://jobs/job_1/outputs/default").name == "artifacts"
    with pytest.raises(NotFoundError, match="has no 'nothing'"):
        job_path(ws, "azureml://jobs/job_1/outputs/artifacts/paths/nothing")
    with pytest.raises(UsageError, match="leads out"):
        job_path(ws, "azureml://jobs/job_1/outputs/artifacts/paths/../../x")


def test_missing_jobs_and_outputs_are_named(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="job 'ghost' not found"):
        job_path(ws, "azureml://jobs/ghost/outputs/model")
    jobs.save_record(ws, "running", {"spec": {}, "compute": "local", "created": 0})
    with pytest.raises(NotFoundError, match="no output 'model' \\(yet\\)"):
        job_path(ws, "azureml://jobs/running/outputs/model")
    with pytest.raises(UsageError, match="not a job output path"):
        job_path(ws, "azureml://jobs/x")


def test_datastores_are_refused_with_the_way_out(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="no datastores"):
        local_copy(ws, "azureml://datastores/workspaceblobstore/paths/data/iris.csv", print)


def test_job_names_are_checked(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="not a valid job name"):
        jobs.folder(ws, "../escape")
    assert jobs.new_name().count("_") == 2
