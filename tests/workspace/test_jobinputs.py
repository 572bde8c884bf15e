"""Job output paths, datastore paths and records, without running a job: what a missing job, output or path
says, and how a datastore path becomes a local copy of the workspace storage's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlk.errors import NotFoundError, UsageError
from mlk.storage.cas import hash_tree, load_manifest, upload_tree
from mlk.storage.jobkeys import output_key
from mlk.workspace import jobs
from mlk.workspace.home import Workspace, create_workspace
from mlk.workspace.jobinputs import data_input, job_path, local_copy


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


DATASTORE = "azureml://datastores/workspaceblobstore/paths"


def _put(ws: Workspace, files: dict[str, str]) -> Path:
    """Files written straight into the workspace's storage folder, as a user copies them there."""
    root = Path(ws.storage_config().path)
    for key, text in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(text)
    return root


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}


IRIS = {
    "datasets/iris/iris.csv": "a,b\n1,2\n",
    "datasets/iris/parts/one.csv": "1\n",
    "datasets/iris.csv": "a sibling file, not in the folder",
    "datasets/irises/x.csv": "a sibling folder, not in it either",
}


def test_a_datastore_folder_is_the_storage_folder(ws: Workspace) -> None:
    _put(ws, IRIS)
    said: list[str] = []
    found = local_copy(ws, f"{DATASTORE}/datasets/iris/", said.append, "uri_folder")
    assert found.name == "iris"
    assert _tree(found) == {"iris.csv": "a,b\n1,2\n", "parts/one.csv": "1\n"}
    assert found.is_relative_to(ws.cache / "datastores")
    assert "downloading" in said[0]
    # no '/' at the end, Azure's other datastore name, another case: the same folder
    again = local_copy(ws, "azureml://datastores/WorkspaceArtifactStore/paths/datasets/iris", print, "uri_folder")
    assert again == found


def test_a_datastore_folder_follows_the_storage(ws: Workspace) -> None:
    root = _put(ws, IRIS)
    path = f"{DATASTORE}/datasets/iris"
    local_copy(ws, path, print, "uri_folder")
    (root / "datasets/iris/parts/one.csv").unlink()
    (root / "datasets/iris/iris.csv").write_text("changed")
    (root / "datasets/iris/parts").rmdir()
    (root / "datasets/iris/parts").write_text("a file where a folder was")
    assert _tree(local_copy(ws, path, print, "uri_folder")) == {
        "iris.csv": "changed",
        "parts": "a file where a folder was",
    }


def test_a_datastore_file(ws: Workspace) -> None:
    _put(ws, IRIS)
    found = local_copy(ws, f"{DATASTORE}/datasets/iris/iris.csv", print, "uri_file")
    assert (found.name, found.read_text()) == ("iris.csv", "a,b\n1,2\n")
    # without the input's type (mlk data create), a path naming a file is that file, and a folder is a folder
    assert local_copy(ws, f"{DATASTORE}/datasets/iris.csv", print).read_text() == "a sibling file, not in the folder"
    assert local_copy(ws, f"{DATASTORE}/datasets/irises", print).is_dir()


def test_job_inputs_from_a_datastore_are_registered_trees(ws: Workspace) -> None:
    _put(ws, IRIS)
    folder = data_input(ws, "training_data", {"type": "uri_folder", "path": f"{DATASTORE}/datasets/iris/"}, print)
    file = data_input(ws, "table", {"type": "uri_file", "path": f"{DATASTORE}/datasets/iris/iris.csv"}, print)
    assert (folder["type"], file["type"], file.get("file")) == ("uri_folder", "uri_file", "iris.csv")
    with ws.store() as store:
        manifest = load_manifest(store, folder["digest"])
        assert sorted(f.path for f in manifest.files) == ["iris.csv", "parts/one.csv"]
        assert [f.path for f in load_manifest(store, file["digest"]).files] == ["iris.csv"]


def test_an_unknown_datastore_is_refused_with_those_mlk_has(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="no datastore 'mydatalake'") as refused:
        local_copy(ws, "azureml://datastores/mydatalake/paths/data/iris.csv", print, "uri_file")
    assert "workspaceblobstore" in (refused.value.hint or "")


def test_a_missing_datastore_path_names_it_and_where_to_put_it(ws: Workspace) -> None:
    root = _put(ws, IRIS)
    with pytest.raises(NotFoundError, match="no folder 'datasets/wine' in datastore 'workspaceblobstore'") as missing:
        local_copy(ws, f"{DATASTORE}/datasets/wine/", print, "uri_folder")
    assert str(root / "datasets/wine") in (missing.value.hint or "")
    with pytest.raises(NotFoundError, match=r"no file 'datasets/wine\.csv'"):
        local_copy(ws, f"{DATASTORE}/datasets/wine.csv", print, "uri_file")
    with pytest.raises(NotFoundError, match="is not a folder") as file:
        local_copy(ws, f"{DATASTORE}/datasets/iris.csv", print, "uri_folder")
    assert file.value.hint == "type uri_file"
    with pytest.raises(NotFoundError, match="is not a file"):
        local_copy(ws, f"{DATASTORE}/datasets/iris", print, "uri_file")


@pytest.mark.parametrize(
    ("path", "why"),
    [
        (f"{DATASTORE}/../workspaces/other/keys", "leads out of the datastore"),
        (f"{DATASTORE}/datasets/../../x/", "leads out of the datastore"),
        (f"{DATASTORE}/", "names the whole datastore"),
        (f"{DATASTORE}/datasets//iris", "not a clean path"),
        (f"{DATASTORE}/datasets/iris.csv/", "ends in '/'"),
        ("azureml://datastores/workspaceblobstore/iris.csv", "not a datastore path"),
    ],
)
def test_bad_datastore_paths_are_refused(ws: Workspace, path: str, why: str) -> None:
    _put(ws, IRIS)
    with pytest.raises(UsageError, match=why):
        local_copy(ws, path, print, "uri_file")


def test_job_names_are_checked(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="not a valid job name"):
        jobs.folder(ws, "../escape")
    assert jobs.new_name().count("_") == 2


def test_azures_long_datastore_form_names_the_same_storage() -> None:
    from mlk.workspace.datastores import is_datastore_path, short_form

    long = "azureml://subscriptions/0000/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/d/x.csv"
    assert is_datastore_path(long)
    assert short_form(long) == "azureml://datastores/workspaceblobstore/paths/d/x.csv"
    assert not is_datastore_path("azureml://jobs/j/outputs/o")
