"""Store.list_keys: the same answers from a local folder and from a blob container (Azurite); and a datastore
path read from a blob workspace's container."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.storage.blob import ContainerClient

from mlk.errors import NotFoundError, UsageError
from mlk.storage.base import Store
from mlk.storage.blob import BlobStore
from mlk.storage.config import StorageConfig
from mlk.storage.local import LocalStore
from mlk.workspace.home import create_workspace
from mlk.workspace.jobinputs import local_copy

KEYS = (
    "datasets/iris/iris.csv",
    "datasets/iris/parts/a.csv",
    "datasets/iris/parts/b.csv",
    "datasets/iris.csv",
    "datasets/irises/x.csv",
    "models/m.pkl",
)


@pytest.fixture
def filled(store: Store) -> Store:
    for key in KEYS:
        store.put_bytes(key, key.encode())
    return store


def test_a_folder_prefix_finds_what_is_under_it_only(filled: Store) -> None:
    assert sorted(filled.list_keys("datasets/iris/")) == [
        "datasets/iris/iris.csv",
        "datasets/iris/parts/a.csv",
        "datasets/iris/parts/b.csv",
    ]
    assert sorted(filled.list_keys("datasets/iris/parts/")) == [
        "datasets/iris/parts/a.csv",
        "datasets/iris/parts/b.csv",
    ]


def test_a_prefix_is_plain_text_as_blob_names_are(filled: Store) -> None:
    assert sorted(filled.list_keys("datasets/iris")) == [
        "datasets/iris.csv",
        "datasets/iris/iris.csv",
        "datasets/iris/parts/a.csv",
        "datasets/iris/parts/b.csv",
        "datasets/irises/x.csv",
    ]
    assert list(filled.list_keys("models/m.pkl")) == ["models/m.pkl"]


def test_no_prefix_lists_everything(filled: Store) -> None:
    assert sorted(filled.list_keys()) == sorted(KEYS)


def test_nothing_there_is_an_empty_listing(filled: Store) -> None:
    assert list(filled.list_keys("datasets/wine/")) == []
    assert list(filled.list_keys("nothing")) == []
    assert list(filled.list_keys("models/m.pkl/")) == []  # a file is not a folder


def test_an_empty_store_lists_nothing(store: Store) -> None:
    assert list(store.list_keys("datasets/")) == []  # a blob container not made yet, a folder not made yet


@pytest.mark.parametrize("prefix", ["../x", "a/../../b", "/etc/", "a//b", "./a", "a\\b", "/"])
def test_a_bad_prefix_is_refused_before_any_listing(store: Store, prefix: str) -> None:
    with pytest.raises(UsageError, match="invalid storage"):
        store.list_keys(prefix)  # refused at the call, not at the first next()


def test_local_writes_in_flight_are_not_keys(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_bytes("data/a.csv", b"a")
    (tmp_path / "store" / "data" / ".b.csv.0123456789ab.tmp").write_bytes(b"half")
    (tmp_path / "store" / "data" / ".hidden").write_bytes(b"a user's dotfile is a key")
    assert sorted(store.list_keys("data/")) == ["data/.hidden", "data/a.csv"]


def test_local_links_to_folders_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    store = LocalStore(tmp_path / "store")
    store.put_bytes("data/a.csv", b"a")
    (tmp_path / "store" / "data" / "link").symlink_to(outside, target_is_directory=True)
    assert list(store.list_keys("data/")) == ["data/a.csv"]


def test_blob_names_are_the_local_keys(blob_config: StorageConfig, tmp_path: Path) -> None:
    """What one backend lists, the other lists too, in the blob service's order."""
    local = LocalStore(tmp_path / "store")
    with BlobStore(blob_config) as blob:
        for key in KEYS:
            local.put_bytes(key, b"x")
            blob.put_bytes(key, b"x")
        assert list(blob.list_keys("datasets/")) == sorted(local.list_keys("datasets/"))


def test_a_blob_workspace_datastore_folder(
    blob_config: StorageConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `az storage blob upload-batch` put in the workspace's container is a datastore folder; the empty
    blobs some tools (and hierarchical-namespace accounts) leave for folders are no files."""
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    assert blob_config.connection_string
    ws = create_workspace(
        "blobby",
        storage={
            "type": "blob",
            "connection_string": blob_config.connection_string,
            "container": blob_config.container,
        },
    )
    with ContainerClient.from_connection_string(blob_config.connection_string, blob_config.container) as sdk:
        sdk.create_container()
        for name, data in {
            "datasets/iris/iris.csv": b"a,b\n",
            "datasets/iris/parts": b"",  # a folder's marker (ADLS Gen2)
            "datasets/iris/parts/one.csv": b"1\n",
            "datasets/iris/empty/": b"",  # a folder's marker ('/' at the end)
        }.items():
            sdk.upload_blob(name, data)
    found = local_copy(ws, "azureml://datastores/workspaceblobstore/paths/datasets/iris", print, "uri_folder")
    files = {p.relative_to(found).as_posix(): p.read_bytes() for p in found.rglob("*") if p.is_file()}
    assert files == {"iris.csv": b"a,b\n", "parts/one.csv": b"1\n"}
    with pytest.raises(NotFoundError) as missing:
        local_copy(ws, "azureml://datastores/workspaceblobstore/paths/datasets/wine/", print, "uri_folder")
    assert (missing.value.hint or "").startswith(
        f"datastore 'workspaceblobstore' is the workspace's container '{blob_config.container}': az storage blob "
        f"upload-batch -d {blob_config.container} --destination-path datasets/wine -s <folder>"
    )
