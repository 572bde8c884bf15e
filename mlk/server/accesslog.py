"""One log line per /score and /swagger.json request, in azmlinfsrv's format, written in batches.

    2026-11-25 19:09:16,552 I [8627] azmlinfsrv - POST /score 200 0.524ms 156

Going through `logging` costs more per request than a fast run() itself; these lines are formatted
directly and flushed to stdout at most every 100 ms (and at exit), so a busy server makes few writes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from mlk.http.message import Request, Response

_FLUSH_AFTER = 0.1


class AccessLog:
    def __init__(self, enabled: bool) -> None:
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

    def line(self, request: Request, response: Response, seconds: float) -> None:
        if not self.enabled:
            return
        target = f"{request.path}?{request.query}" if request.query else request.path
        self.pending.append(
            f"{self._timestamp(time.time())} I [{self.pid}] azmlinfsrv - {request.method} {target} "
            f"{response.status} {seconds * 1000:.3f}ms {len(response.body)}\n"
        )
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_later(_FLUSH_AFTER, self.flush)
            except RuntimeError:
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
