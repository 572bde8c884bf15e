"""Hashing a file or folder into a Manifest, with a cache so unchanged files are not read again.

Re-registering an unchanged 200 MB model should cost a stat() per file, not a read: HashCache remembers
(absolute path, size, mtime_ns) → SHA-256 in a JSON file. Like git's index it guards against the
"racy" case (a file rewritten within the same timestamp tick, size unchanged): a hash is remembered only
for files whose mtime is at least RACY_NS older than the moment they were read.

The walk skips nothing (hidden files and caches are part of a model as much as anything) and follows
symlinks only while they stay inside the tree: a link out of it would make the asset depend on files
that are not in it, so it is an error, as are cycles and special files.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from mlk.errors import MlkError, NotFoundError
from mlk.storage.base import StrPath
from mlk.storage.manifest import Kind, Manifest, ManifestFile
from mlk.storage.private import replacing

RACY_NS = 2_000_000_000
CHUNK = 1 << 20


class HashCache:
    """(abs path, size, mtime_ns) → sha256, kept in a JSON file; loaded on first use, saved by save()."""

    def __init__(self, path: StrPath) -> None:
        self.path = Path(path)
        self._entries: dict[str, list[Any]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                entries = data["entries"] if data.get("version") == 1 else {}
                self._entries = {k: v for k, v in entries.items() if isinstance(v, list) and len(v) == 3}
            except (OSError, ValueError, KeyError, AttributeError):
                self._entries = {}  # missing or damaged: start afresh, it is only a cache
        return self._entries

    def get(self, path: Path, st: os.stat_result) -> str | None:
        entry = self._load().get(str(path))
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            return str(entry[2])
        return None

    def put(self, path: Path, st: os.stat_result, sha256: str, read_at_ns: int) -> None:
        if read_at_ns - st.st_mtime_ns < RACY_NS:
            return  # modified too recently to trust (size, mtime) to tell a later change
        self._load()[str(path)] = [st.st_size, st.st_mtime_ns, sha256]
        self._dirty = True

    def save(self) -> None:
        """Write the cache atomically if anything changed (idempotent)."""
        if not self._dirty or self._entries is None:
            return
        with replacing(self.path, durable=False) as out:  # owner-only: it names the user's files
            out.write(json.dumps({"version": 1, "entries": self._entries}).encode("utf-8"))
        self._dirty = False


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, bytes read) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def hash_tree(path: StrPath, cache: HashCache | None = None) -> Manifest:
    """The manifest of a file or a folder (recursively, sorted); saves `cache` when given."""
    given = Path(os.path.abspath(path))
    if not given.exists():
        raise NotFoundError(f"{path} does not exist")
    real_root = given.resolve()
    if real_root.is_file():
        files = [_hashed(real_root, given.name, cache)]
        kind: Kind = "file"
    elif real_root.is_dir():
        files = [_hashed(real, rel, cache) for rel, real in _walk(real_root, real_root, "", (real_root,))]
        kind = "folder"
    else:
        raise MlkError(f"{path} is neither a file nor a folder")
    if cache is not None:
        cache.save()
    return Manifest(name=given.name, kind=kind, files=tuple(files))


def _hashed(real: Path, rel: str, cache: HashCache | None) -> ManifestFile:
    if "\\" in rel:
        raise MlkError(f"cannot store '{rel}': a backslash in a file name", hint="rename the file")
    st = real.stat()
    sha = cache.get(real, st) if cache else None
    if sha is None:
        read_at = time.time_ns()
        sha, size = hash_file(real)
        if cache is not None and size == st.st_size:
            cache.put(real, st, sha, read_at)
        return ManifestFile(rel, sha, size)
    return ManifestFile(rel, sha, st.st_size)


def _walk(real_root: Path, folder: Path, prefix: str, chain: tuple[Path, ...]) -> list[tuple[str, Path]]:
    """(relative path, real path) of every file under `folder`; `chain` = real folders above (cycles)."""
    found: list[tuple[str, Path]] = []
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            rel = f"{prefix}{entry.name}"
            real = Path(entry.path)
            if entry.is_symlink():
                real = real.resolve()
                if not real.exists():
                    raise MlkError(f"'{rel}' is a broken symbolic link", hint="remove it or point it at a file")
                if not real.is_relative_to(real_root):
                    raise MlkError(
                        f"'{rel}' links to {real}, outside the folder being registered",
                        hint="copy the file into the folder instead of linking to it",
                    )
            mode = real.stat().st_mode
            if stat.S_ISDIR(mode):
                if real in chain:
                    raise MlkError(f"'{rel}' links back to a folder that contains it (a cycle)")
                found += _walk(real_root, real, f"{rel}/", (*chain, real))
            elif stat.S_ISREG(mode):
                found.append((rel, real))
            else:
                raise MlkError(f"'{rel}' is not a regular file (a socket, pipe or device)", hint="remove it")
    return found
