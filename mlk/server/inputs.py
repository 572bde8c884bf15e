"""run()'s arguments from a request, in each of the three modes (see script.py). Runs on the run thread.

Bad input raises `BadInput` carrying azmlinfsrv's exact 400/415 message; run() is then not called.
"""

from __future__ import annotations

import json
from typing import Any

from mlk.http.message import Request
from mlk.server.compat.aml_request import AMLRequest
from mlk.server.query import query_arguments
from mlk.server.script import NO_DEFAULT, REQUEST_HEADERS, RunMode, ScoreScript

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BadInput(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def header_items(request: Request) -> list[tuple[str, str]]:
    """Headers as a WSGI app sees them: Title-Case names; names with '_' dropped (gunicorn drops them)."""
    return [
        ("-".join(part.capitalize() for part in name.split("-")), value)
        for name, value in request.headers.items()
        if "_" not in name
    ]


def _mimetype(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def _is_json(request: Request) -> bool:
    mime = _mimetype(request)
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _plain_input(request: Request) -> str:
    if request.method == "GET":
        return json.dumps(query_arguments(request.query))
    if _mimetype(request) in _FORM_TYPES:  # Flask consumes form bodies; azmlinfsrv's run() then sees ""
        return ""
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(400, f"Input cannot be decoded as UTF-8: {exc}") from None


def _schema_input(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return query_arguments(request.query)
    if not _is_json(request):
        raise BadInput(415, "Expects Content-Type to be application/json")
    if not request.body:
        raise BadInput(400, "POST body is empty. Expecting a JSON dictionary.")
    try:
        body = json.loads(request.body)
    except ValueError as exc:
        raise BadInput(400, f"POST body could not be decoded as JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadInput(400, "POST body should be a JSON dictionary.")
    return body


def call_arguments(script: ScoreScript, request: Request) -> dict[str, Any]:
    """Keyword arguments for run()."""
    kwargs: dict[str, Any] = {}
    if script.mode is RunMode.RAW:
        kwargs[script.input_name] = AMLRequest(request, header_items(request))
    elif script.mode is RunMode.PLAIN:
        kwargs[script.input_name] = _plain_input(request)
    else:
        body = _schema_input(request)
        for name, default in script.params:
            if name in body:
                kwargs[name] = body[name]
            elif default is not NO_DEFAULT:
                kwargs[name] = default
            else:
                raise BadInput(400, f"A value is not provided for the {name!r} parameter.")
    if script.wants_headers:
        kwargs[REQUEST_HEADERS] = dict(header_items(request))
    return kwargs
