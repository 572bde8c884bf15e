"""Where the router's configuration comes from. A source loads a RouterConfig and watches for changes.

StaticFileSource reads a YAML file (the `router-config` kind, validated like every mlk file) and reloads
it when it changes or on SIGHUP. The embedded default's workspace and the Kubernetes watch are further
sources with the same two methods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mlk.errors import SpecError
from mlk.router.config import RouterConfig, load_file

log = logging.getLogger("mlk.router")


class ConfigSource(Protocol):
    def load(self) -> RouterConfig: ...
    async def watch(self, apply: Callable[[RouterConfig], None]) -> None: ...
    def poke(self) -> None: ...


class StaticFileSource:
    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._signature = self._stat()
        self._poked = asyncio.Event()

    def _stat(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime, stat.st_size

    def load(self) -> RouterConfig:
        self._signature = self._stat()
        return load_file(self.path)

    def poke(self) -> None:
        """Reload now (SIGHUP)."""
        self._poked.set()

    async def watch(self, apply: Callable[[RouterConfig], None]) -> None:
        while True:
            try:
                await asyncio.wait_for(self._poked.wait(), self.interval)
            except TimeoutError:
                if self._stat() == self._signature:
                    continue
            self._poked.clear()
            try:
                config = self.load()
            except SpecError as exc:
                problems = "; ".join(p.render() for p in exc.problems) or exc.message
                log.error("%s is not valid, keeping the previous configuration: %s", self.path, problems)
                continue
            apply(config)
