"""Objects in memory, one global resourceVersion counter, and the change history watches replay.

Like etcd behind a real server, every write gets the next resourceVersion (a string to clients, a counter here),
and every change is kept for a while so that a watch started "from resourceVersion N" receives exactly what
happened after N. History is bounded per resource; a watch from a version older than what is kept gets 410 Gone,
as from a compacted etcd (`compact()` forces that, to test a client's recovery).

Everything here runs on the server's event loop thread, so no locks: a request handler mutates the store and
notifies watchers without awaiting in between, which keeps "list, then watch from the list's version" gapless.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakekube.errors import expired

Key = tuple[str, str]
"""(group, plural): where the objects of one resource live, whatever version they are read through."""


@dataclass(frozen=True)
class Change:
    rv: int
    type: str
    """ADDED, MODIFIED or DELETED."""
    key: Key
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(eq=False)
class Watcher:
    key: Key
    queue: asyncio.Queue[Change | None] = field(default_factory=asyncio.Queue)


def ns_name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta["name"])


class Store:
    def __init__(self, history: int = 10_000) -> None:
        self.rv = 1000
        self._objects: dict[Key, dict[tuple[str, str], dict[str, Any]]] = {}
        self._uids: dict[str, Key] = {}
        self._history: dict[Key, deque[Change]] = {}
        self._evicted: dict[Key, int] = {}
        self._limit = history
        self.watchers: set[Watcher] = set()
        self.listeners: list[Callable[[Change], None]] = []

    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object itself: callers copy before changing it."""
        return self._objects.get(key, {}).get((namespace, name))

    def items(self, key: Key, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects sorted by namespace then name, as etcd's key order returns them."""
        found = self._objects.get(key, {})
        return [found[k] for k in sorted(found) if namespace is None or k[0] == namespace]

    def keys(self) -> list[Key]:
        return [k for k, objs in self._objects.items() if objs]

    def in_namespace(self, namespace: str) -> list[tuple[Key, dict[str, Any]]]:
        return [(key, obj) for key in self.keys() for obj in self.items(key, namespace) if namespace]

    def exists(self, uid: str) -> bool:
        return uid in self._uids

    def dependents(self, uid: str, namespace: str | None) -> list[tuple[Key, dict[str, Any]]]:
        """Objects with an ownerReference to `uid` (in `namespace`, or anywhere for a cluster-scoped owner)."""
        return [
            (key, obj)
            for key in self.keys()
            for obj in self.items(key, namespace)
            if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
        ]

    def put(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an object (ADDED or MODIFIED): it gets the next resourceVersion."""
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        where = ns_name(obj)
        old = self._objects.setdefault(key, {}).get(where)
        self._objects[key][where] = obj
        self._uids[obj["metadata"]["uid"]] = key
        self._record(Change(self.rv, "MODIFIED" if old else "ADDED", key, obj, old))
        return obj

    def remove(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """Delete an object for good; its DELETED event carries a new resourceVersion."""
        self.rv += 1
        old = self._objects.get(key, {}).pop(ns_name(obj))
        self._uids.pop(old["metadata"]["uid"], None)
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self._record(Change(self.rv, "DELETED", key, gone, old))
        return gone

    def _record(self, change: Change) -> None:
        history = self._history.setdefault(change.key, deque())
        if len(history) >= self._limit:
            self._evicted[change.key] = history.popleft().rv
        history.append(change)
        for watcher in self.watchers:
            if watcher.key == change.key:
                watcher.queue.put_nowait(change)
        for listener in self.listeners:
            listener(change)

    def since(self, key: Key, rv: int) -> list[Change]:
        """Changes of one resource after `rv`; 410 Gone if some of them were already forgotten."""
        if rv < self._evicted.get(key, 0):
            raise expired(rv, self._evicted[key] + 1)
        return [c for c in self._history.get(key, ()) if c.rv > rv]

    def compact(self) -> None:
        """Forget all history, as an etcd compaction does: older watch versions then get 410 Gone."""
        for key in list(self._history):
            self._evicted[key] = self.rv
            self._history[key].clear()
