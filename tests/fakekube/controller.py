"""What the fake's controllers share: they listen to the store's changes and coalesce the work each
change asks for into one call after `delay`, on the server's event loop, as a real controller's
work queue does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from tests.fakekube.cluster import Cluster
from tests.fakekube.store import Change


class Controller:
    def __init__(self, cluster: Cluster, delay: float = 0.05) -> None:
        self.cluster = cluster
        self.delay = delay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[Hashable, asyncio.TimerHandle] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.cluster.store.listeners.append(self._on_change)

    def stop(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        if self._on_change in self.cluster.store.listeners:
            self.cluster.store.listeners.remove(self._on_change)

    def _on_change(self, change: Change) -> None:
        raise NotImplementedError

    def _queue(self, key: Hashable, work: Callable[..., Any], *args: Any) -> None:
        """Run `work(*args)` after `delay`, once however many changes ask for `key` meanwhile."""
        if self._loop is None or key in self._pending:
            return

        def run() -> None:
            self._pending.pop(key, None)
            work(*args)

        self._pending[key] = self._loop.call_later(self.delay, run)
