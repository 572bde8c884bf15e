"""Request ids and CORS headers, with azmlinfsrv's rules (see tests/server/azmlinfsrv-behaviour.md §6)."""

from __future__ import annotations

import logging
import uuid

from mlk.http.message import Request, Response
from mlk.server.responses import error

MAX_ID = 100
log = logging.getLogger("azmlinfsrv")


def trace_headers(request: Request, server_version: str) -> tuple[list[tuple[str, str]], Response | None]:
    """The tracing headers for this request's response, or a 431 when an id is too long."""
    headers = request.headers
    base = [("x-ms-server-version", server_version)] if server_version else []
    rid = headers.get("x-request-id")
    if rid is None:
        rid = str(uuid.uuid4())
    if len(rid) > MAX_ID:
        too_long = error(431, "x-request-id must not exceed 100 characters")
        too_long.headers += base
        return base, too_long
    legacy = headers.get("x-ms-request-id", "")
    client = headers.get("x-ms-client-request-id", "")
    if legacy:
        log.warning(
            "x-ms-request-id header has been deprecated and will be removed from future versions of the "
            "server. Please use x-ms-client-request-id."
        )
        client = client or legacy
    else:
        legacy = client or rid
    out = list(base)
    if rid:
        out.append(("x-request-id", rid))
    if len(legacy) > MAX_ID or len(client) > MAX_ID:
        too_long = error(431, "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters")
        too_long.headers += out
        return out, too_long
    if legacy:
        out.append(("x-ms-request-id", legacy))
    if client:
        out.append(("x-ms-client-request-id", client))
    trace = headers.get("traceid")
    if trace:
        out.append(("TraceId", trace))
    return out, None


class Cors:
    """flask-cors as azmlinfsrv configures it: exact origins (or *), methods GET and POST."""

    METHODS = "GET, POST"

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = set(origins)
        self.any = "*" in self.origins

    def headers(self, request: Request) -> list[tuple[str, str]]:
        if not self.origins:
            return []
        origin = request.headers.get("origin")
        if origin is None:
            return [("Access-Control-Allow-Origin", "*")] if self.any else []
        if not (self.any or origin in self.origins):
            return []
        out = [("Access-Control-Allow-Origin", origin)]
        wanted = request.headers.get("access-control-request-method")
        if request.method == "OPTIONS" and wanted and wanted.upper() in ("GET", "POST"):
            asked = request.headers.get("access-control-request-headers")
            if asked:
                out.append(("Access-Control-Allow-Headers", ", ".join(h.strip() for h in asked.split(","))))
            out.append(("Access-Control-Allow-Methods", self.METHODS))
        out.append(("Vary", "Origin"))
        return out
