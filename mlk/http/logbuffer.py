"""Log lines written in batches: formatting a line costs microseconds, writing it a system call.

Lines use azmlinfsrv's layout (`2026-11-25 19:09:16,552 I [8627] name - message`) and reach stdout at most
every 100 ms, and at `flush()`; the server's and the router's per-request access logs go through here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

_FLUSH_AFTER = 0.1
MAX_LOGGED = 200
"""Characters of a client-chosen value (path, name, request id) that reach a log line: a client decides
how long they are, not how much we write."""
LOG_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"


def configure_logging(*names: str) -> None:
    """azmlinfsrv's log format (UTC), on stdout, for the named loggers: collectors written for Azure parse it."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(LOG_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def shorten(text: str, limit: int = MAX_LOGGED) -> str:
    """`text` cut to `limit` characters, saying how many were left out."""
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit})"


class Throttle:
    """At most `per_second` lines of one kind a second (401s and 404s a client can make as fast as it likes);
    the lines left out are counted, and the next line that is written says how many."""

    def __init__(self, per_second: int = 10) -> None:
        self.per_second = per_second
        self.second = -1
        self.written = 0
        self.left_out = 0

    def admit(self, now: float) -> tuple[bool, int]:
        """(write this line?, lines left out before it — to be said in it)."""
        second = int(now)
        if second != self.second:
            self.second, self.written = second, 0
        if self.written >= self.per_second:
            self.left_out += 1
            return False, 0
        self.written += 1
        left_out, self.left_out = self.left_out, 0
        return True, left_out

    def overdue(self, now: float) -> int:
        """Lines left out in a second now over that no line has reported yet (then counted as reported)."""
        if not self.left_out or int(now) == self.second:
            return 0
        left_out, self.left_out = self.left_out, 0
        return left_out


class LineBuffer:
    def __init__(self, name: str, enabled: bool = True) -> None:
        self.name = name
        self.enabled = enabled
        self.pending: list[str] = []
        self.pid = os.getpid()
        self._second = -1
        self._stamp = ""
        self._scheduled = False

    def _timestamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return f"{self._stamp},{int((now - second) * 1000):03d}"

    def info(self, message: str) -> None:
        if not self.enabled:
            return
        self.pending.append(f"{self._timestamp(time.time())} I [{self.pid}] {self.name} - {message}\n")
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_later(_FLUSH_AFTER, self.flush)
            except RuntimeError:  # no loop: write now
                self.flush()

    def flush(self) -> None:
        self._scheduled = False
        if self.pending:
            lines, self.pending = self.pending, []
            try:
                sys.stdout.write("".join(lines))
                sys.stdout.flush()
            except (OSError, ValueError):  # stdout closed: the lines have nowhere to go
                pass
