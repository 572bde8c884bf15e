"""`azureml://datastores/<datastore>/paths/<path>` on this machine: Azure's default datastores
(workspaceblobstore, workspaceartifactstore) are its workspace's storage account, and mlk's are its
workspace's storage (a folder or a blob container), so files a user put there are read unchanged."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlk.errors import ExternalError, NotFoundError, UsageError
from mlk.workspace.files import locked
from mlk.workspace.home import Workspace

if TYPE_CHECKING:
    from mlk.storage.base import Store

Say = Callable[[str], None]
WORKSPACE_PREFIX = re.compile(
    r"^azureml://subscriptions/[^/]+/resource[gG]roups/[^/]+/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/[^/]+/(?=datastores/)"
)
"""Azure's long form names the workspace too; mlk's datastores are the current workspace's."""
DATASTORE_PATH = re.compile(r"^azureml://datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)$")
WORKSPACE_DATASTORES = ("workspaceblobstore", "workspaceartifactstore")
"""Azure ML's datastores on a workspace's own storage account (names are case-insensitive); in mlk both are
the workspace's storage."""
DATASTORE_LOCK_TIMEOUT = 3600.0
"""How long a second command waits while another downloads the same datastore path."""


def short_form(path: str) -> str:
    """`azureml://subscriptions/.../workspaces/<ws>/datastores/...` → `azureml://datastores/...`."""
    return WORKSPACE_PREFIX.sub("azureml://", path, count=1)


def is_datastore_path(path: str) -> bool:
    return short_form(path).startswith("azureml://datastores/")


def _parse_datastore_path(path: str) -> tuple[str, str, bool]:
    """(the datastore's name, the key path without its trailing '/', whether the path ended in '/')."""
    match = DATASTORE_PATH.match(short_form(path))
    if match is None:
        raise UsageError(f"'{path}' is not a datastore path", hint="azureml://datastores/<datastore>/paths/<path>")
    datastore, sub = match["datastore"], match["path"]
    if datastore.lower() not in WORKSPACE_DATASTORES:
        raise UsageError(
            f"'{path}': mlk has no datastore '{datastore}'",
            hint=f"mlk's datastores are {' and '.join(WORKSPACE_DATASTORES)}, both the workspace's storage; "
            "give other data as a local path or an https URL",
        )
    key = sub.removesuffix("/")
    if ".." in key.split("/"):
        raise UsageError(f"'{path}' leads out of the datastore", hint="give a path inside it, without '..'")
    if not key:
        # the whole container holds mlk's own assets too (blobs/, manifests/...)
        raise UsageError(f"'{path}' names the whole datastore", hint="name a folder or a file in it")
    from mlk.storage.base import check_key

    try:
        check_key(key)
    except UsageError:
        raise UsageError(
            f"'{path}': '{sub}' is not a clean path", hint="'/'-separated names, without '.', '//' or '\\'"
        ) from None
    return datastore, key, sub.endswith("/")


def datastore_path(ws: Workspace, path: str, say: Say, kind: str | None = None) -> Path:
    """`azureml://datastores/<datastore>/paths/<path>` on this machine: the storage's file, or every file
    under its folder, downloaded into the cache. Downloaded again each time (the storage may have changed
    since), in place, so that what a cache folder holds is always what the storage held.

    `kind` uri_file wants a file, uri_folder a folder; any other (or None) takes a path ending in '/', or
    naming no file, for a folder."""
    datastore, key, ends_in_slash = _parse_datastore_path(path)
    if kind == "uri_file" and ends_in_slash:
        raise UsageError(f"'{path}' ends in '/': a folder, not a uri_file", hint="drop the '/', or type uri_folder")
    with ws.store() as store:
        has_file = not ends_in_slash and store.exists(key)
        has_folder = next(iter(store.list_keys(f"{key}/")), None) is not None
        folder = kind == "uri_folder" or (kind != "uri_file" and (ends_in_slash or not has_file))
        if not (has_folder if folder else has_file):
            raise _nothing_there(ws, path, datastore, key, folder, store.describe(), has_file or has_folder)
        # one cache entry per file or folder, whichever datastore name reached it: both are the same storage
        entry = ws.cache / "datastores" / hashlib.sha256(f"{folder}:{key}".encode()).hexdigest()[:16]
        target = entry / key.rpartition("/")[2]
        with locked(entry.with_name(f"{entry.name}.lock"), timeout=DATASTORE_LOCK_TIMEOUT, what=f"the copy of {path}"):
            say(f"downloading {path} from {store.describe()}")
            return _fetch_folder(store, key, target) if folder else _fetch(store, key, target)


def _fetch(store: Store, key: str, dest: Path) -> Path:
    """One key into `dest` (atomically, streamed); a local write failure as ExternalError."""
    try:
        store.get_file(key, dest)
    except OSError as e:
        raise ExternalError(
            f"could not write {dest}: {e.strerror or e}", hint="check the free space and permissions of the mlk home"
        ) from e
    return dest


def _fetch_folder(store: Store, key: str, folder: Path) -> Path:
    """Every key under `key/` into `folder`, keeping the tree; what an earlier download left there that the
    storage no longer holds is removed first (it could stand where a new file goes)."""
    names = {k.removeprefix(f"{key}/") for k in store.list_keys(f"{key}/")}  # names only: memory stays small
    # folder markers are no files: 'a/' blobs some tools make, and the empty blob a hierarchical-namespace
    # account (ADLS Gen2) lists for each folder
    parents = {name[:at] for name in names for at, char in enumerate(name) if char == "/"}
    files = sorted(name for name in names if not name.endswith("/") and name not in parents)
    _remove_others(folder, set(files))
    folder.mkdir(parents=True, exist_ok=True)  # there, even when the storage holds folder markers only
    for name in files:
        _fetch(store, f"{key}/{name}", folder / name)
    return folder


def _remove_others(folder: Path, keep: set[str]) -> None:
    if not folder.is_dir():
        return
    for here, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            found = Path(here) / name
            if found.relative_to(folder).as_posix() not in keep:
                found.unlink()
        for name in dirs:
            if not any((Path(here) / name).iterdir()):
                (Path(here) / name).rmdir()


def _nothing_there(
    ws: Workspace, path: str, datastore: str, key: str, folder: bool, where: str, other_kind: bool
) -> NotFoundError:
    what = "folder" if folder else "file"
    if other_kind:  # a file where a folder was asked for, or the other way round
        other = "uri_file" if folder else "uri_folder"
        return NotFoundError(f"'{path}' is not a {what} in datastore '{datastore}' ({where})", hint=f"type {other}")
    config = ws.storage_config()
    if config.type == "local":
        place = "files under" if folder else "file at"
        hint = f"datastore '{datastore}' is the workspace's storage folder: put the {place} {Path(config.path) / key}"
    else:
        container = config.container_name()
        upload = (
            f"az storage blob upload-batch -d {container} --destination-path {key} -s <folder>"
            if folder
            else f"az storage blob upload -c {container} -n {key} -f <file>"
        )
        parent = key.rpartition("/")[0]
        listing = f"az storage blob list -c {container}" + (f" --prefix {parent}/" if parent else "")
        hint = f"datastore '{datastore}' is the workspace's container '{container}': {upload}; {listing} shows it"
    return NotFoundError(f"'{path}': no {what} '{key}' in datastore '{datastore}' ({where})", hint=hint)
