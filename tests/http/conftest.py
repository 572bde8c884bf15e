from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from tests.http.targets import KINDS, Conn, Kind


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()


@pytest.fixture
def connect(loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> Callable[[Kind], Conn]:
    """A new client connection to either protocol (for tests that compare the two side by side)."""
    return lambda kind: Conn(kind, loop, monkeypatch)


@pytest.fixture(params=KINDS)
def conn(request: pytest.FixtureRequest, connect: Callable[[Kind], Conn]) -> Conn:
    """A client connection to `mlk serve`'s protocol, then to the router's: every test runs on both."""
    kind: Kind = request.param
    return connect(kind)
