"""The Store protocol: what every storage backend offers, and the rules both backends share.

Keys are '/'-separated relative paths (`blobs/sha256/<hex>`, `manifests/<digest>.json`). The same key
rules apply to the local folder and to a blob container, so an asset written through one backend has
the same name in the other, and no key can climb out of a local root.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from mlk.errors import UsageError

ProgressFn = Callable[[int], None]
"""Called with the number of bytes just done (sent, received, or found already there); possibly from a
worker thread, so it must be thread-safe (rich's progress bars are)."""

StrPath = str | os.PathLike[str]


class Store(Protocol):
    """Where workspace assets live. Every method raises mlk.errors (NotFoundError, ExternalError), never a
    backend's own exceptions."""

    def exists(self, key: str) -> bool: ...

    def put_file(self, key: str, path: StrPath, on_progress: ProgressFn | None = None) -> int:
        """Store a file under `key`; return the bytes actually sent (0 when `key` already holds as many
        bytes: keys are content-addressed, so equal size means equal content)."""
        ...

    def put_bytes(self, key: str, data: bytes) -> int:
        """Store `data` under `key` (overwriting); return len(data)."""
        ...

    def get_file(self, key: str, dest: StrPath, on_progress: ProgressFn | None = None) -> None:
        """Download `key` to `dest` atomically: `dest` appears complete or not at all."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key that starts with `prefix` (plain text: 'data/ir' finds 'data/iris.csv'; end it with '/'
        for a folder), lazily, in no promised order; nothing when none does."""
        ...

    def read_url(self, key_prefix: str = "", *, hours: float = 24.0) -> str:
        """A URL from which a pod can read (never write) what lies under `key_prefix`."""
        ...

    def describe(self) -> str:
        """One line for messages; never includes a secret."""
        ...

    def check(self) -> None:
        """Reach the storage now, so a wrong key, URL or folder is reported at once, not at the first upload
        (opening a store does no I/O)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class ClosedOnExit:
    """`with store:` closes it: the part of Store both backends write the same way."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """`key` if it is a clean relative '/'-path (no '', '.', '..' parts, no backslash), else UsageError."""
    if key == "" and allow_empty:
        return key
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"invalid storage key {key!r}", hint="keys are relative paths like 'blobs/sha256/<hex>'")
    return key


def check_prefix(prefix: str) -> str:
    """`prefix` if it is '' or a clean key, or a clean key and one '/' (a folder's), else UsageError."""
    check_key(prefix.removesuffix("/"), allow_empty=True)
    if prefix == "/":
        raise UsageError("invalid storage prefix '/'", hint="list everything with '', a folder with 'folder/'")
    return prefix


def temp_sibling(path: Path) -> Path:
    """A fresh hidden name next to `path`, for writing before an atomic os.replace()."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def remove_quietly(path: Path) -> None:
    """Delete a temporary file if it is there (cleanup after a failed transfer)."""
    with suppress(FileNotFoundError):
        path.unlink()
