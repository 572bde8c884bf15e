"""The embedded default's log files: private, size-capped, rotated — as the kubelet keeps container logs.

Each log is FILE plus FILE.1 … FILE.<KEEP> (older), none over MAX_BYTES: a replica that prints without end,
or a client that provokes a log line per request, costs at most (KEEP + 1) × MAX_BYTES of disk per file.
Replicas write into a pipe the agent reads (`copy`); the agent's own output goes to its file directly, and
`rotate_own_output` moves standard output and error to a fresh file once it is over the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from mlk.workspace.files import private_dir

MAX_BYTES = 10 * 1024 * 1024
"""The kubelet's containerLogMaxSize default."""
KEEP = 4
"""Older files kept beside the current one (the kubelet keeps 5 in all)."""
PRIVATE = 0o600
READ_CHUNK = 64 * 1024
LINE_BYTES = 1024
"""What `tail` reads per line asked for: longer lines show fewer of them."""


def _shift(path: Path, keep: int) -> None:
    """FILE → FILE.1 → … → FILE.<keep>; the oldest is dropped."""
    for index in range(keep, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        newer = path if index == 1 else path.with_name(f"{path.name}.{index - 1}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(newer, older)


def _open_append(path: Path) -> int:
    """An append-only descriptor on `path`, created 0600 (an existing file is made 0600 too), in a 0700
    folder."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, PRIVATE)
    os.fchmod(fd, PRIVATE)
    return fd


class RotatingLog:
    """Bytes appended to `path`, rotated when the file would pass `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self.fd = _open_append(path)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        if self.size and self.size + len(data) > self.max_bytes:
            os.close(self.fd)
            _shift(self.path, self.keep)
            self.fd = _open_append(self.path)
            self.size = 0
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


async def copy(stream: asyncio.StreamReader, path: Path) -> None:
    """Copy a child's output into `path`'s rotating files until the child closes it."""
    log = RotatingLog(path)
    try:
        while chunk := await stream.read(READ_CHUNK):
            log.write(chunk)
    finally:
        log.close()


def rotate_own_output(path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
    """This process writes its standard output and error to `path`: once that is over `max_bytes`, shift
    the files and point both descriptors at a fresh one (called now and then, not per line)."""
    try:
        if os.fstat(1).st_size <= max_bytes:
            return
    except OSError:
        return
    _shift(path, keep)
    fd = _open_append(path)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a log, reaching into the rotated files when the current one is short."""
    collected: list[bytes] = []
    for index in range(KEEP + 1):
        part = path if index == 0 else path.with_name(f"{path.name}.{index}")
        try:
            with open(part, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                start = max(0, size - LINE_BYTES * max(lines, 1))
                handle.seek(start)
                chunk = handle.read().splitlines()[1 if start else 0 :]  # a cut first line is left out
        except FileNotFoundError:
            break
        collected = chunk + collected
        if len(collected) >= lines:
            break
    return b"\n".join(collected[-lines:] if lines else []).decode(errors="replace")
