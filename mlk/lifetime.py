"""Processes that must not outlive the one that owns them: replicas their agent, workers their master.

Linux's PR_SET_PDEATHSIG has the kernel signal a child when its parent dies, however it dies (SIGKILL and
OOM kills included), which no cleanup code in the parent can promise. Elsewhere it is a no-op and the
owner's own cleanup (process groups recorded and killed at the next start) is what remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Ask the kernel for `signum` when this process's parent dies. Called in the child — after fork, or as
    a preexec function — and safe there (no allocation beyond ctypes' call). If the parent (`parent`, when
    given) is already gone, the signal is sent now: the race between fork and this call is closed."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signum)


def _stat(pid: int) -> list[bytes]:
    """/proc/<pid>/stat's fields after the command name (which is in parentheses and may hold spaces or
    parentheses itself): [state, ppid, ...]; empty when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return []
    return stat[stat.rfind(b")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot, from /proc): with the pid, it names one process for good
    (a pid alone may have been reused since it was recorded). None when there is no such process."""
    fields = _stat(pid)
    return int(fields[19]) if len(fields) > 19 else None


def kill_orphaned_group(pid: int, started: int | None) -> None:
    """SIGKILL what is left of the process group `pid` led, recorded when it started at `started`. A group
    outlives its leader, and while any member lives Linux gives no new process the group's number: a
    leader that is gone still names our group; only a different start time names someone else's."""
    now = start_time(pid)
    if now is None or now == started:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def running(pid: int, started: int | None) -> bool:
    """`pid` is still the process that started at `started`, and has not exited (a zombie, dead but not yet
    reaped by its parent, has not run its course only on paper)."""
    fields = _stat(pid)
    return len(fields) > 19 and int(fields[19]) == started and fields[0] != b"Z"


def kill_group(pid: int, started: int) -> bool:
    """SIGKILL the process group led by `pid`, if `pid` is still the process that started at `started`."""
    if start_time(pid) != started:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def spawn_detached(argv: list[str], log: str | os.PathLike[str]) -> None:
    """Start a process that outlives its starter (a workspace's agent, tracking server host, job runner): its
    own session, stdin from /dev/null, stdout and stderr appended to `log` (created 0600). posix_spawn
    rather than Popen: nothing will ever wait for it here."""
    os.posix_spawn(
        argv[0],
        argv,
        dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.fspath(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
