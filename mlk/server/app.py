"""The scoring app: azmlinfsrv's routes and answers, on mlk's HTTP core, with run() off the event loop.

The event loop only routes, checks ids and hands /score to the Runner; decoding the input, calling
run() and encoding its output all happen on the run thread, which returns a finished Response. So the
loop keeps accepting, answering probes and queueing while run() works.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterator
from typing import Any

from mlk.http import admission
from mlk.http.admission import parse_limit
from mlk.http.message import Request, Response, StreamingResponse
from mlk.server import responses
from mlk.server.accesslog import AccessLog
from mlk.server.inputs import BadInput, call_arguments
from mlk.server.metrics import ServerMetrics
from mlk.server.runner import Runner
from mlk.server.script import RunMode, ScoreScript
from mlk.server.settings import ServerSettings
from mlk.server.swagger import Swagger, SwaggerError
from mlk.server.tracing import Cors, trace_headers

log = logging.getLogger("azmlinfsrv")
_TRACED = ("/", "/score", "/swagger.json")


class ScoreJob:
    """One call of run(), executed on a run thread; always returns a Response."""

    __slots__ = ("app", "request", "started", "trailer")

    def __init__(self, app: ScoringApp, request: Request, trailer: list[tuple[str, str]]) -> None:
        self.app, self.request, self.trailer = app, request, trailer
        self.started = 0.0

    def __call__(self) -> Response:
        script = self.app.script
        try:
            kwargs = call_arguments(script, self.request)
        except BadInput as bad:
            return self.finish(responses.error(bad.status, bad.message))
        self.started = time.perf_counter()
        try:
            result = script.run(**kwargs)
        except Exception:
            log.exception("Encountered Exception: ")
            self.app.metrics.run_errors.inc()
            return self.finish(responses.error(500, responses.RUN_FAILED, run_failed=True))
        exec_ms = (time.perf_counter() - self.started) * 1000
        take_stream = getattr(result, "take_stream", None)  # an AMLResponse of a generator
        chunks = take_stream() if callable(take_stream) else None
        try:
            response = responses.from_result(result, exec_ms)
        except (TypeError, ValueError):
            log.exception("Encountered Exception: run() returned a value that cannot be sent as JSON")
            response = responses.error(500, responses.INTERNAL)
        if chunks is not None:
            response = self.app.streamed(response, chunks)
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        response.headers += self.trailer
        return response


class ScoringApp:
    def __init__(self, script: ScoreScript, settings: ServerSettings, loop: asyncio.AbstractEventLoop) -> None:
        self.script = script
        self.settings = settings
        self.loop = loop
        self.runner = Runner(loop, settings.run_concurrency)
        self.swagger = Swagger(script, settings.app_root)
        self.cors = Cors(settings.cors_origins)
        self.metrics = ServerMetrics(self.runner)
        self.access = AccessLog(settings.access_log)
        self.ready = True
        self.timeout_ms = settings.effective_timeout_ms
        self.routes = {
            "/": self.health,
            "/score": self.score,
            "/swagger.json": self.swagger_json,
            "/metrics": self.metrics_page,
            "/readyz": self.readiness,
        }

    # --- dispatch ---------------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        path = request.path
        if "//" in path:  # werkzeug merges slashes: //score is /score
            while "//" in path:
                path = path.replace("//", "/")
            request.path = path
        route = self.routes.get(path)
        if route is None:
            return self._untraced(404, responses.NOT_FOUND)
        return route(request)

    def observe(self, request: Request, response: Response, seconds: float) -> None:
        """Called by the protocol after each response is written."""
        route = request.path if request.path in self.routes else "other"
        self.metrics.observe(route, response.status, seconds)
        if route in ("/score", "/swagger.json"):
            self.access.line(request, response, seconds)

    def _untraced(self, status: int, message: str) -> Response:
        return responses.error(status, message)

    def _headers(self, request: Request) -> tuple[list[tuple[str, str]], Response | None]:
        trace, too_long = trace_headers(request, self.settings.server_version)
        cors = self.cors.headers(request)
        if too_long is not None:
            too_long.headers += cors
            return cors + trace, too_long
        return cors + trace, None

    # --- routes -----------------------------------------------------------------------------------------
    def health(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return self._untraced(405, responses.NOT_ALLOWED)
        trailer, too_long = self._headers(request)
        if too_long is not None:
            return too_long
        if request.method == "OPTIONS":
            return Response(200, b"", [("Content-Type", responses.HTML), ("Allow", "OPTIONS, HEAD, GET"), *trailer])
        return Response(200, b"Healthy", [("Content-Type", responses.HTML), *trailer])

    def swagger_json(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return self._untraced(405, responses.NOT_ALLOWED)
        trailer, too_long = self._headers(request)
        if too_long is not None:
            return too_long
        if request.method == "OPTIONS":
            return Response(200, b"", [("Content-Type", responses.HTML), ("Allow", "OPTIONS, HEAD, GET"), *trailer])
        from mlk.server.query import parse_pairs

        version = next((v for k, v in parse_pairs(request.query) if k == "version"), None)
        try:
            body = self.swagger.body(version)
        except SwaggerError as exc:
            response = responses.error(404, str(exc))
        else:
            response = Response(200, body, [("Content-Type", responses.JSON), (responses.FAILED, "False")])
        response.headers += trailer
        return response

    def score(self, request: Request) -> Response | Awaitable[Response]:
        method = request.method
        raw = self.script.mode is RunMode.RAW
        if method not in ("GET", "POST", "OPTIONS", "HEAD"):
            return self._untraced(405, responses.NOT_ALLOWED)
        trailer, too_long = self._headers(request)
        if too_long is not None:
            return too_long
        if not raw and method == "OPTIONS":
            return Response(200, b"", [("Content-Type", responses.HTML), (responses.FAILED, "False"), *trailer])
        if not raw and method == "HEAD":
            response = responses.error(405, "Method not allowed")
            response.headers += trailer
            return response
        limit = parse_limit(request.headers.get(admission.REQUEST_HEADER))
        if limit is not None and self.runner.queued >= limit:  # another router's requests fill this replica
            self.metrics.busy.inc()
            busy = responses.error(429, "this replica is at max_concurrent_requests_per_instance")
            busy.headers += [(admission.BUSY_HEADER, "1"), *trailer]
            return busy
        return self.runner.submit(ScoreJob(self, request, trailer))

    def streamed(self, head: Response, chunks: Iterator[Any]) -> StreamingResponse:
        """`head` with a body the generator yields, each chunk pulled on the run thread (the generator is the
        script's code), so a script that streams tokens is heard token by token, as with azmlinfsrv."""

        def pull() -> bytes | None:
            for chunk in chunks:
                data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
                if data:
                    return data
            return None

        def stop() -> None:
            close = getattr(chunks, "close", None)
            if callable(close):
                self.runner.submit(close)  # on the run thread: the generator may be paused there

        return StreamingResponse(head.status, head.headers, lambda: self.runner.submit(pull), stop)

    def metrics_page(self, request: Request) -> Response:
        from mlk.http.metrics import CONTENT_TYPE

        return Response(200, self.metrics.render(), [("Content-Type", CONTENT_TYPE)])

    def readiness(self, request: Request) -> Response:
        """Kubernetes readiness: 200 while serving, 503 while draining or when run() threads are stuck."""
        if self.ready and not self.runner.exhausted:
            return Response(200, b"ready", [("Content-Type", "text/plain")])
        return Response(503, b"not ready", [("Content-Type", "text/plain")])

    # --- scoring timeout --------------------------------------------------------------------------------
    async def watch_timeouts(self) -> None:
        """Answer run() calls that exceed the scoring timeout, and let their thread go."""
        if self.timeout_ms <= 0:
            return
        limit = self.timeout_ms / 1000
        interval = min(0.05, limit / 20)
        while True:
            await asyncio.sleep(interval)
            now = time.perf_counter()
            for future, job in self.runner.running():
                if isinstance(job, ScoreJob) and job.started and now - job.started > limit and not future.done():
                    log.error(
                        "Encountered Exception: Script failed to finish execution within the allocated time: %sms",
                        self.timeout_ms,
                    )
                    future.set_result(
                        job.finish(responses.error(500, f"Scoring timeout after {self.timeout_ms} ms", run_failed=True))
                    )
                    self.runner.abandon(future)

    def close(self) -> Any:
        self.ready = False
        self.access.flush()
        self.runner.close()
