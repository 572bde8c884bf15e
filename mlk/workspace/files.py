"""Small, safe file operations for workspace state: atomic JSON writes and an exclusive lock.

State is rewritten whole (write to a temporary file, fsync, rename), so a CLI killed at any point leaves
either the old file or the new one, never half of one. Mutations take the workspace lock, a short
flock, so two commands never interleave their read-modify-write.

Everything under $MLK_HOME is its user's alone (mlk.storage.private, re-exported here): folders 0700,
files 0600 whatever the umask, so another local user cannot read a deployment's environment variables,
an endpoint's keys or a storage key. Anything that writes there uses `write_json`, `write_private`,
`replacing`, `open_private` or `private_dir`, never a bare open() or mkdir().
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlk.errors import ConflictError
from mlk.storage.private import DIR_MODE, FILE_MODE, open_private, private_dir, replacing, tighten, write_private

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "locked",
    "open_private",
    "pid_alive",
    "private_dir",
    "read_json",
    "replacing",
    "tighten",
    "write_json",
    "write_private",
]


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def write_json(path: Path, data: Any, *, mode: int = FILE_MODE) -> None:
    """Replace `path` atomically and durably with `data` as JSON, owner-only (0600) unless `mode` says."""
    write_private(path, json.dumps(data, indent=1, sort_keys=True), mode=mode)


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = 30.0, what: str = "the workspace") -> Iterator[None]:
    """Hold an exclusive lock on `path`; wait up to `timeout` seconds for another holder to finish."""
    with open_private(path, append=False) as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConflictError(
                        f"{what} is locked by another mlk command", hint="wait for it to finish, then try again"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def pid_alive(pid: int | None) -> bool:
    """Is `pid` a running process? A zombie (dead, not yet reaped by its parent) is not."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
