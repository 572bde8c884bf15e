from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.router.fakes import LoopThread, Replica, RouterThread, config


@pytest.fixture
def runner() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.stop()


@pytest.fixture
def replicas(runner: LoopThread) -> Iterator[Callable[[int], list[Replica]]]:
    made: list[Replica] = []

    def make(n: int) -> list[Replica]:
        made.extend(Replica(runner) for _ in range(n))
        return made[-n:]

    yield make
    for replica in made:
        replica.stop()


@pytest.fixture
def router(runner: LoopThread, replicas: object, tmp_path: Path) -> Iterator[Callable[..., RouterThread]]:
    started: list[RouterThread] = []

    def start(*endpoints: dict[str, Any]) -> RouterThread:
        instance = RouterThread(runner, config(tmp_path / "router.yml", list(endpoints)))
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
