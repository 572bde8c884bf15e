"""LocalStore: a workspace's assets in a folder (the default storage).

Every write goes to a hidden temporary file next to its target and is renamed into place, so a reader
(or a crash) never sees half a file; keys map to paths under the root and cannot leave it. What it
stores is its user's only: folders 0700, files 0600 (mlk.storage.private).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mlk.errors import ExternalError, NotFoundError
from mlk.storage.base import ClosedOnExit, ProgressFn, StrPath, check_key, check_prefix, temp_sibling
from mlk.storage.private import private_dir, replacing

CHUNK = 1 << 20
IN_FLIGHT = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")
"""A write not yet renamed into place (base.temp_sibling's names): not a key yet."""


class LocalStore(ClosedOnExit):
    """Keys are relative paths under `root`; the folder is created on the first write."""

    def __init__(self, root: StrPath) -> None:
        self.root = Path(root).expanduser().absolute()

    def _path(self, key: str, *, allow_empty: bool = False) -> Path:
        return self.root / check_key(key, allow_empty=allow_empty)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, path: StrPath, on_progress: ProgressFn | None = None) -> int:
        target = self._path(key)
        source = Path(path)
        size = _size_of(source)
        if target.is_file() and target.stat().st_size == size:
            if on_progress:
                on_progress(size)
            return 0
        with _errors("store", key), open(source, "rb") as src:
            return self._write(target, lambda out: _copy(src, out, on_progress))

    def put_bytes(self, key: str, data: bytes) -> int:
        with _errors("store", key):
            return self._write(self._path(key), lambda out: out.write(data))

    def get_file(self, key: str, dest: StrPath, on_progress: ProgressFn | None = None) -> None:
        source = self._path(key)
        target = Path(dest)
        try:
            src = open(source, "rb")  # noqa: SIM115 (closed below; opened first to report a missing key)
        except FileNotFoundError as e:
            raise NotFoundError(f"'{key}' not found in {self.describe()}") from e
        with src, _errors("download", key):
            target.parent.mkdir(parents=True, exist_ok=True)
            self._write(target, lambda out: _copy(src, out, on_progress))

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as e:
            raise NotFoundError(f"'{key}' not found in {self.describe()}") from e

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Walk only the folders that can hold such keys: the one the prefix names, and those below it whose
        names can still match (links to folders are not followed, as os.walk's default)."""
        folder = check_prefix(prefix).rpartition("/")[0]  # checked now, not at the first next()
        return self._walk(self.root / folder if folder else self.root, prefix)

    def _walk(self, start: Path, prefix: str) -> Iterator[str]:
        for here, dirs, files in os.walk(start, onerror=_walk_error):
            relative = Path(here).relative_to(self.root).as_posix()
            base = "" if relative == "." else f"{relative}/"
            dirs[:] = [d for d in dirs if _may_hold(f"{base}{d}/", prefix)]
            for name in files:
                key = base + name
                if key.startswith(prefix) and not IN_FLIGHT.match(name):
                    yield key

    def read_url(self, key_prefix: str = "", *, hours: float = 24.0) -> str:
        """A file:// URL (no expiry: the folder's permissions are the access control)."""
        return self._path(key_prefix, allow_empty=True).as_uri()

    def describe(self) -> str:
        return f"local folder {self.root}"

    def check(self) -> None:
        """Create the root if needed and prove it writable."""
        probe = temp_sibling(self.root / "check")
        try:
            private_dir(self.root)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise ExternalError(
                f"cannot write to the local store {self.root}: {e.strerror or e}",
                hint="check the storage folder's path and permissions",
            ) from e

    def close(self) -> None:
        """Nothing to release; here so LocalStore and BlobStore are used the same way."""

    @staticmethod
    def _write(target: Path, fill: Callable[[BinaryIO], int]) -> int:
        """Write through `fill` into a temporary sibling of `target` (0600), then rename it into place."""
        with replacing(target, durable=False) as out:
            return fill(out)


def _copy(src: BinaryIO, out: BinaryIO, on_progress: ProgressFn | None) -> int:
    if on_progress is None:
        shutil.copyfileobj(src, out, CHUNK)
        return out.tell()
    total = 0
    while chunk := src.read(CHUNK):
        out.write(chunk)
        total += len(chunk)
        on_progress(len(chunk))
    return total


def _may_hold(folder_key: str, prefix: str) -> bool:
    """Whether keys under `folder_key` ('a/b/') can start with `prefix`."""
    return folder_key.startswith(prefix) or prefix.startswith(folder_key)


def _walk_error(e: OSError) -> None:
    """A missing start folder means no keys; any other failure to read a folder is reported."""
    if isinstance(e, FileNotFoundError | NotADirectoryError):
        return
    raise ExternalError(
        f"could not list the local store's folder {e.filename}: {e.strerror or e}",
        hint="check the storage folder's permissions",
    ) from e


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError as e:
        raise NotFoundError(f"{path} does not exist") from e


@contextmanager
def _errors(action: str, key: str) -> Iterator[None]:
    """Turn OSError (disk full, permissions) into ExternalError naming the key."""
    try:
        yield
    except OSError as e:
        raise ExternalError(
            f"could not {action} '{key}' in the local store: {e.strerror or e}",
            hint="check the free space and permissions of the storage folder",
        ) from e
