"""HTTP: the API server's URL layout on top of `Cluster`, as an aiohttp application.

    /api/v1/<plural>[/<name>[/<subresource>]]                          cluster-scoped, or all namespaces
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<subresource>]]          namespaced
    /apis/<group>/<version>/...                                        the same for named groups

Every failure is a `Status` body with the code of the real server. Any bearer token (or none) is accepted: the
fake has no authentication or authorization, so RBAC objects are stored but grant nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from tests.fakekube import discovery, watch
from tests.fakekube.cluster import Cluster
from tests.fakekube.errors import ApiError, bad_request, method_not_allowed, no_such_path
from tests.fakekube.patch import APPLY
from tests.fakekube.resources import ResourceType

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
log = logging.getLogger(__name__)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


class Api:
    def __init__(self, cluster: Cluster, bookmark_every: float = 5.0) -> None:
        self.cluster = cluster
        self.bookmark_every = bookmark_every

    def application(self) -> web.Application:
        app = web.Application(client_max_size=3 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as error:
            return _json(error.body(), error.code)
        except Exception as error:  # a bug of the fake: still answer as the API server would, and say so
            log.exception("fakekube failed on %s %s", request.method, request.path_qs)
            return _json(ApiError(500, "InternalError", f"fakekube: {error!r}").body(), 500)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        registry = self.cluster.registry
        if request.path.rstrip("/") in {"/healthz", "/livez", "/readyz"}:
            return web.Response(text="ok")
        if parts == ["version"]:
            return _json(discovery.version_info(self.cluster.kube_version))
        if parts == ["api"]:
            return _json(discovery.api_versions(request.host))
        if parts == ["apis"]:
            return _json(discovery.group_list(registry))
        if len(parts) == 2 and parts[0] == "apis":
            return _json(discovery.group(registry, parts[1]) or _raise(no_such_path()))
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise no_such_path()
        if not rest:
            return _json(discovery.resource_list(registry, group, version) or _raise(no_such_path()))
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES):
            namespace, plural, tail = rest[1], rest[2], rest[3:]
        else:
            namespace, plural, tail = None, rest[0], rest[1:]
        rtype = registry.find(group, version, plural)
        name = tail[0] if tail else None
        sub = tail[1] if len(tail) > 1 else ""
        if (
            rtype is None
            or len(tail) > 2
            or (namespace is not None and not rtype.namespaced)
            or (sub and sub not in rtype.subresources)
        ):
            raise no_such_path()
        if rtype.namespaced and namespace is None and name is not None:
            raise no_such_path()
        if (sub == "log" and request.method != "GET") or (sub and request.method in {"POST", "DELETE"}):
            raise method_not_allowed()
        return await self._verb(request, rtype, namespace, name, sub)

    async def _verb(
        self, request: web.Request, rtype: ResourceType, namespace: str | None, name: str | None, sub: str
    ) -> web.StreamResponse:
        cluster, query, method = self.cluster, request.query, request.method
        ns = namespace or ""
        dry_run = query.get("dryRun") == "All"
        validation = query.get("fieldValidation", "")
        manager = query.get("fieldManager") or request.headers.get("User-Agent", "").split("/")[0] or "unknown"
        if method == "GET" and name is None:
            if query.get("watch") in {"1", "true"}:
                return await watch.stream(request, cluster, rtype, namespace, self.bookmark_every)
            limit = _int(query.get("limit")) or 0
            listed = cluster.list_objects(
                rtype,
                namespace,
                query.get("labelSelector", ""),
                query.get("fieldSelector", ""),
                limit,
                query.get("continue", ""),
            )
            return _json(listed)
        if method == "GET" and sub == "log":
            text = cluster.pod_log(
                ns, str(name), query.get("container"), _int(query.get("tailLines")), _int(query.get("limitBytes"))
            )
            return web.Response(text=text, content_type="text/plain")
        if method == "GET":
            return _json(cluster.get(rtype, ns, str(name)))
        if method == "POST" and name is None and (namespace is not None or not rtype.namespaced):
            return _json(cluster.create(rtype, ns, await _body(request), manager, dry_run, validation), 201)
        if method == "PUT" and name is not None:
            body = await _body(request)
            return _json(cluster.replace(rtype, ns, name, body, manager, sub, dry_run, validation))
        if method == "PATCH" and name is not None:
            content_type = request.headers.get("Content-Type", "")
            if content_type.startswith(APPLY):
                manager = query.get("fieldManager", "")
            force = query.get("force") in {"true", "1"}
            obj, created = cluster.patch(
                rtype, ns, name, await request.read(), content_type, manager, sub, force, dry_run, validation
            )
            return _json(obj, 201 if created else 200)
        if method == "DELETE":
            options = await _body(request, empty_ok=True)
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy") or ""
            dry_run = dry_run or "All" in (options.get("dryRun") or [])
            if name is None:
                labels, fields = query.get("labelSelector", ""), query.get("fieldSelector", "")
                return _json(cluster.reaper.delete_collection(rtype, namespace, labels, fields, propagation, dry_run))
            preconditions = options.get("preconditions")
            obj, gone = cluster.reaper.delete(rtype, ns, name, propagation, preconditions, dry_run)
            return _json(cluster.reaper.answer(rtype, obj, gone))
        raise method_not_allowed()


def _raise(error: ApiError) -> Any:
    raise error


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as error:
        raise bad_request(f"invalid integer {value!r}") from error


async def _body(request: web.Request, empty_ok: bool = False) -> Any:
    raw = await request.read()
    if not raw.strip() and empty_ok:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise bad_request(f"the request body is not valid JSON: {error}") from error
    if empty_ok and not isinstance(body, dict):
        raise bad_request("DeleteOptions must be a JSON object")
    return body
