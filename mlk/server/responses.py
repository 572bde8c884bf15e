"""Responses as azmlinfsrv shapes them: JSON error bodies, run() results, the failure and timing headers."""

from __future__ import annotations

import json
from typing import Any

from mlk.http.message import Response

JSON = "application/json"
HTML = "text/html; charset=utf-8"
FAILED = "x-ms-run-function-failed"
EXEC_MS = "x-ms-run-fn-exec-ms"

RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL = "An unexpected internal error occurred. Check the logs for more info."
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again."
)
NOT_ALLOWED = "The method is not allowed for the requested URL."


def error(status: int, message: str, *, run_failed: bool = False) -> Response:
    """A server-made JSON error: {"message": ...} with x-ms-run-function-failed."""
    return Response(
        status, json.dumps({"message": message}).encode(), [("Content-Type", JSON), (FAILED, str(run_failed))]
    )


def _response_like(value: Any) -> bool:
    return hasattr(value, "status_code") and hasattr(value, "headers") and hasattr(value, "get_data")


_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


def _checked(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """CR, LF or NUL in a header the script set would split the response (a second header, or a second
    response, of the script's choosing): a ValueError, which the server answers 500, as werkzeug refuses."""
    for name, value in headers:
        if any(c in name or c in value for c in _FORBIDDEN_IN_HEADERS):
            raise ValueError(f"run() set header {name[:40]!r} with a CR, LF or NUL character")
    return headers


def from_result(value: Any, exec_ms: float) -> Response:
    """run()'s return value → Response. Raises TypeError for values JSON cannot encode, ValueError for a
    header that would split the response (azmlinfsrv: 500 both)."""
    timing = (EXEC_MS, f"{exec_ms:.3f}")
    if _response_like(value):  # AMLResponse, or a Flask/werkzeug Response the script built itself
        raw = value.headers.to_wsgi_list() if hasattr(value.headers, "to_wsgi_list") else list(value.headers.items())
        headers = _checked([(str(k), str(v)) for k, v in raw])
        status = int(value.status_code)
        if status >= 500:
            if any(k.lower() == FAILED for k, _ in headers):
                headers = [(k, "True" if k.lower() == FAILED else v) for k, v in headers]
            else:
                headers.append((FAILED, "True"))
        headers.append(timing)
        body = value.get_data()
        return Response(status, body if isinstance(body, bytes) else str(body).encode(), headers)
    body = json.dumps({} if value is None else value)
    return Response(200, body.encode(), [("Content-Type", JSON), (FAILED, "False"), timing])
