"""One log line per /score and /swagger.json request, in azmlinfsrv's format:

2026-11-25 19:09:16,552 I [8627] azmlinfsrv - POST /score 200 0.524ms 156
"""

from __future__ import annotations

from mlk.http.logbuffer import LineBuffer, shorten
from mlk.http.message import Request, Response


class AccessLog(LineBuffer):
    def __init__(self, enabled: bool) -> None:
        super().__init__("azmlinfsrv", enabled)

    def line(self, request: Request, response: Response, seconds: float) -> None:
        if self.enabled:
            target = f"{request.path}?{request.query}" if request.query else request.path
            self.info(
                f"{request.method} {shorten(target)} {response.status} {seconds * 1000:.3f}ms {len(response.body)}"
            )
