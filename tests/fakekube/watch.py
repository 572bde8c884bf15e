"""Watch streams: `?watch=true` on a list, as newline-delimited JSON events over a chunked response.

The semantics clients depend on, kopf first:
- with no resourceVersion (or "0"), the stream opens with a synthetic ADDED per existing object, then live events;
  with a resourceVersion, it replays what happened after it, then goes live (too old: one ERROR event 410 Expired);
  with `sendInitialEvents=true`, the synthetic ADDEDs end with a BOOKMARK annotated `k8s.io/initial-events-end`;
- selectors apply to both the old and the new state: an object that stops matching is seen as DELETED, one that
  starts matching as ADDED;
- `allowWatchBookmarks` adds BOOKMARK events (only kind, apiVersion, metadata.resourceVersion) when idle;
- the stream ends after `timeoutSeconds` (default 30 minutes), when the client goes, or when the server stops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakekube.cluster import Cluster
from tests.fakekube.errors import ApiError, bad_request
from tests.fakekube.resources import ResourceType
from tests.fakekube.selectors import field_matcher, label_matcher
from tests.fakekube.store import Change, Watcher

Obj = dict[str, Any]


def _event(kind: str, obj: Obj) -> bytes:
    return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()


def _translate(change: Change, matches: Callable[[Obj], bool]) -> str | None:
    """The event type this watcher sees for a change, given its selectors (None: not its business)."""
    now = change.type != "DELETED" and matches(change.obj)
    before = change.old is not None and matches(change.old)
    if change.type == "DELETED":
        return "DELETED" if before else None
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


async def stream(
    request: web.Request, cluster: Cluster, rtype: ResourceType, namespace: str | None, bookmark_every: float
) -> web.StreamResponse:
    query = request.query
    by_labels = label_matcher(query.get("labelSelector"))
    by_fields = field_matcher(query.get("fieldSelector"), rtype.plural)

    def matches(obj: Obj) -> bool:
        in_scope = namespace is None or obj["metadata"].get("namespace") == namespace
        return in_scope and by_labels(obj) and by_fields(obj)

    try:
        timeout = float(query.get("timeoutSeconds") or 1800)
    except ValueError as error:
        raise bad_request(f"invalid timeoutSeconds: {error}") from error
    bookmarks = query.get("allowWatchBookmarks") in {"true", "1"}
    since = query.get("resourceVersion") or "0"
    initial = query.get("sendInitialEvents") == "true"
    if not since.isdigit():
        raise bad_request(f"invalid resourceVersion: {since!r}")

    # Everything up to registering the watcher happens without awaiting: no change can slip in between.
    backlog: list[bytes] = []
    if since == "0" or initial:
        items = [o for o in cluster.store.items(rtype.key, namespace) if matches(o)]
        backlog = [_event("ADDED", cluster.present(rtype, o)) for o in items]
        if initial:
            annotations = {"k8s.io/initial-events-end": "true"}
            backlog.append(_event("BOOKMARK", _bookmark(cluster, rtype, annotations)))
    else:
        try:
            changes = cluster.store.since(rtype.key, int(since))
        except ApiError as error:
            changes, backlog = [], [_event("ERROR", error.body())]
        for change in changes:
            kind = _translate(change, matches)
            if kind:
                backlog.append(_event(kind, cluster.present(rtype, change.obj)))
    expired = bool(backlog) and backlog[-1].startswith(b'{"type":"ERROR"')
    watcher = Watcher(rtype.key)
    cluster.store.watchers.add(watcher)
    try:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for line in backlog:
            await response.write(line)
        if not expired:
            await _live(
                request, response, cluster, rtype, watcher, matches, timeout, bookmark_every if bookmarks else 0
            )
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away
    finally:
        cluster.store.watchers.discard(watcher)
    return response


async def _live(
    request: web.Request,
    response: web.StreamResponse,
    cluster: Cluster,
    rtype: ResourceType,
    watcher: Watcher,
    matches: Callable[[Obj], bool],
    timeout: float,
    bookmark_every: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_sent = loop.time()
    while (remaining := deadline - loop.time()) > 0:
        try:
            change = await asyncio.wait_for(watcher.queue.get(), min(remaining, 0.5))
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return
            if bookmark_every and loop.time() - last_sent >= bookmark_every:
                await response.write(_event("BOOKMARK", _bookmark(cluster, rtype)))
                last_sent = loop.time()
            continue
        if change is None:
            return  # the server is stopping
        kind = _translate(change, matches)
        if kind:
            await response.write(_event(kind, cluster.present(rtype, change.obj)))
            last_sent = loop.time()


def _bookmark(cluster: Cluster, rtype: ResourceType, annotations: dict[str, str] | None = None) -> Obj:
    metadata: Obj = {"resourceVersion": str(cluster.store.rv)}
    if annotations:
        metadata["annotations"] = annotations
    return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata}
