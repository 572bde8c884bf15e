from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mlk.http.message import Request, Response
from mlk.server.app import ScoringApp
from mlk.server.script import load
from mlk.server.settings import from_sources
from tests.server.harness import SCRIPTS

Call = Callable[..., Response]


@pytest.fixture
def scoring() -> Iterator[Callable[..., tuple[ScoringApp, Call]]]:
    """Load a script from tests/server/scripts into an in-process ScoringApp and call it without sockets."""
    saved_env, saved_path = dict(os.environ), list(sys.path)
    loops: list[asyncio.AbstractEventLoop] = []
    apps: list[ScoringApp] = []

    def make(script: str, env: dict[str, str] | None = None, **flags: Any) -> tuple[ScoringApp, Call]:
        _forget_decorated_runs()
        settings = from_sources(entry_script=str(SCRIPTS / script), env={**os.environ, **(env or {})}, **flags)
        loaded = load(settings)
        loaded.call_init()
        loop = asyncio.new_event_loop()
        loops.append(loop)
        app = ScoringApp(loaded, settings, loop)
        apps.append(app)

        def call(method: str, target: str, body: bytes | str = b"", headers: dict[str, str] | None = None) -> Response:
            path, _, query = target.partition("?")
            raw = body.encode() if isinstance(body, str) else body
            request = Request(method, target, path, query, {k.lower(): v for k, v in (headers or {}).items()}, raw)
            result = app(request)
            if isinstance(result, Response):
                return result

            async def wait() -> Response:
                watchdog = loop.create_task(app.watch_timeouts())
                try:
                    return await result  # type: ignore[misc]
                finally:
                    watchdog.cancel()

            return loop.run_until_complete(wait())

        return app, call

    yield make
    for app in apps:
        app.close()
    for loop in loops:
        loop.close()
    os.environ.clear()
    os.environ.update(saved_env)
    sys.path[:] = saved_path


def _forget_decorated_runs() -> None:
    """inference-schema registers `entry_module.run` globally; a real server loads one script, tests many."""
    from inference_schema import schema_util

    schema_util.__functions_schema__.clear()
    schema_util.__versions__.clear()


def header(response: Response, name: str) -> str | None:
    return response.get_header(name)
