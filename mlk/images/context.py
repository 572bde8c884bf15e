"""A BuildContext as the tar stream `docker build` reads: the Dockerfile and every file, deterministic.

Entries are sorted with fixed times and owners, so the same context is the same bytes (and Docker's layer
cache sees unchanged COPY steps as unchanged). `__pycache__` folders are left out of copied trees.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from mlk.images.dockerfile import BuildContext

_SKIP = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def _tree(root: Path) -> list[tuple[str, Path]]:
    """(relative path, file) of every file under `root`, sorted, caches left out."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not _SKIP.intersection(path.relative_to(root).parts):
            found.append((path.relative_to(root).as_posix(), path))
    return found


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    archive.addfile(info, io.BytesIO(data))


def entries(context: BuildContext) -> list[tuple[str, bytes, int]]:
    """(path in the context, content, mode) of everything, Dockerfile first."""
    out: list[tuple[str, bytes, int]] = [("Dockerfile", context.dockerfile.encode(), 0o644)]
    for name, source in sorted(context.files.items()):
        if isinstance(source, bytes):
            out.append((name, source, 0o644))
        elif source.is_dir():
            out += [(f"{name}/{rel}", path.read_bytes(), 0o644) for rel, path in _tree(source)]
        else:
            out.append((name, source.read_bytes(), 0o755 if source.stat().st_mode & 0o111 else 0o644))
    return out


def tar_bytes(context: BuildContext) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data, mode in entries(context):
            _add(archive, name, data, mode)
    return buffer.getvalue()


def tree_digest(root: Path) -> str:
    """sha256 of a folder's files (paths and contents): mlk's runtime, as it goes into images."""
    digest = hashlib.sha256()
    for rel, path in _tree(root):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
