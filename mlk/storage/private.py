"""Files only their owner can read: folders 0700, files 0600, whatever the umask.

What mlk keeps under $MLK_HOME is one user's: deployments' environment variables (state.json), endpoint
keys, storage and registry credentials (workspace.json), logs that may print any of those, and the models
and code themselves. Everything written there goes through these helpers, so no other local user can
read it: folders are created 0700 and files 0600, the mode set on the open descriptor (fchmod) so neither
the umask nor a later chmod race can widen it. `tighten` closes a folder an earlier mlk made with the
umask's modes (0755): with the home folder 0700, nothing below it can be reached by another user.

mlk.storage is the lowest layer that writes files (the local store, the hash cache); mlk.workspace.files
re-exports these for the workspace's state.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mlk.storage.base import StrPath, remove_quietly, temp_sibling

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: StrPath) -> Path:
    """`path` as a folder, created with any missing parents as 0700; an existing folder is left as it is
    (`tighten` changes one). Returns it as a Path."""
    folder = Path(path)
    missing: list[Path] = []
    walk = folder
    while not walk.is_dir() and walk != walk.parent:
        missing.append(walk)
        walk = walk.parent
    for part in reversed(missing):
        try:
            os.mkdir(part, DIR_MODE)
        except FileExistsError:
            if not part.is_dir():
                raise
            continue  # made meanwhile by another process: its own business
        os.chmod(part, DIR_MODE)  # mkdir's mode passes through the umask; only chmod makes it exact
    return folder


def tighten(path: StrPath) -> None:
    """Make an existing folder of this user's 0700 when its group or others have any access to it.

    A folder someone else owns, or a shared one with the sticky bit (/tmp), is left alone: MLK_HOME=/tmp
    must never lock other users out of /tmp."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.geteuid()
        and stat.S_IMODE(st.st_mode) & 0o077
        and not st.st_mode & stat.S_ISVTX
    ):
        os.chmod(path, DIR_MODE)


@contextlib.contextmanager
def replacing(path: StrPath, *, mode: int = FILE_MODE, durable: bool = True) -> Iterator[BinaryIO]:
    """Write `path` whole and atomically: yields a binary file (a hidden sibling, created `mode`) that
    replaces `path` when the block ends without an exception; `durable` fsyncs it first. Missing parent
    folders are created 0700. A reader, or a crash, sees the old file or the new one, never half of one."""
    target = Path(path)
    private_dir(target.parent)
    tmp = temp_sibling(target)
    handle = os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode), "wb")
    try:
        with handle:
            os.fchmod(handle.fileno(), mode)
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        remove_quietly(tmp)
        raise


def write_private(path: StrPath, data: bytes | str, *, mode: int = FILE_MODE) -> None:
    """Replace `path` atomically and durably with `data` (text is written as UTF-8), created `mode`."""
    with replacing(path, mode=mode) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def open_private(path: StrPath, *, append: bool = True) -> BinaryIO:
    """Open `path` for writing, binary, created 0600 with 0700 parents (an existing file is made 0600 too):
    appending (a log), or read-write from the start for a lock file (`append=False`, never truncated)."""
    target = Path(path)
    private_dir(target.parent)
    flags = os.O_CREAT | os.O_CLOEXEC | (os.O_WRONLY | os.O_APPEND if append else os.O_RDWR)
    fd = os.open(target, flags, FILE_MODE)
    try:
        with contextlib.suppress(PermissionError):  # someone else's file: left as it is
            os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "ab" if append else "r+b")
    except BaseException:
        os.close(fd)
        raise
