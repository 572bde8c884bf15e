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
