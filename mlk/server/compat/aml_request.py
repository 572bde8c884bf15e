"""`azureml.contrib.services.aml_request`: the `rawhttp` decorator and the request @rawhttp run() receives.

Azure passes Flask's request; scripts use the werkzeug Request API on it (method, path, full_path, args,
headers, get_data(), get_json(), form, files, ...). `AMLRequest` offers that API over mlk's parsed request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from mlk.http.message import Request
from mlk.server.compat.forms import parse_form
from mlk.server.compat.headers import ContentTyped, RequestHeaders
from mlk.server.query import parse_pairs

F = TypeVar("F", bound=Callable[..., Any])

_rawHttpRequested = False  # Azure's name; the server reads it after importing score.py


def rawhttp(func: F) -> F:
    """Mark run() as wanting the raw request (like Azure's, it sets a module-wide flag)."""
    global _rawHttpRequested
    _rawHttpRequested = True
    return func


def reset() -> None:
    global _rawHttpRequested
    _rawHttpRequested = False


def requested() -> bool:
    return _rawHttpRequested


class MultiDict:
    """Ordered multi-valued mapping (werkzeug's MultiDict, the part scripts use)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self._pairs = pairs

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:
        for k, v in self._pairs:
            if k == key:
                if type is None:
                    return v
                try:
                    return type(v)
                except (ValueError, TypeError):
                    return default
        return default

    def getlist(self, key: str) -> list[Any]:
        return [v for k, v in self._pairs if k == key]

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self._pairs:
            if flat:
                out.setdefault(k, v)
            else:
                out.setdefault(k, []).append(v)
        return out

    def items(self, multi: bool = False) -> list[tuple[str, Any]]:
        return list(self._pairs) if multi else list(self.to_dict().items())

    def keys(self) -> list[str]:
        return list(self.to_dict())

    def values(self) -> list[Any]:
        return list(self.to_dict().values())

    def __getitem__(self, key: str) -> Any:
        for k, v in self._pairs:
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"MultiDict({self._pairs!r})"


class AMLRequest(ContentTyped):
    """The request a @rawhttp run() receives."""

    def __init__(self, request: Request, headers: list[tuple[str, str]]) -> None:
        self._request = request
        self.method = request.method
        self.path = request.path
        self.query_string = request.query.encode("latin-1")
        self.full_path = f"{request.path}?{request.query}"
        self.headers = RequestHeaders(headers)
        self._form: tuple[list[tuple[str, Any]], list[tuple[str, Any]]] | None = None
        self.args = MultiDict(parse_pairs(request.query))
        self.remote_addr = request.client[0] if request.client else None
        self.environ = {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query,
            "REMOTE_ADDR": self.remote_addr or "",
        }

    @property
    def host(self) -> str:
        return self.headers.get("Host") or "localhost"

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.full_path if self._request.query else self.path}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}{self.path}"

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value and value.isdigit() else None

    @property
    def is_json(self) -> bool:
        mime = self.mimetype
        return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> bytes | str:
        body = self._request.body
        return body.decode("utf-8", "replace") if as_text else body

    @property
    def data(self) -> bytes:
        return self._request.body

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise ValueError("the request's Content-Type is not application/json")
        try:
            return json.loads(self._request.body)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json(silent=True)

    def _parsed_form(self) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        if self._form is None:
            self._form = parse_form(self.content_type, self._request.body)
        return self._form

    @property
    def form(self) -> MultiDict:
        return MultiDict(self._parsed_form()[0])

    @property
    def values(self) -> MultiDict:
        return MultiDict(self.args.items(multi=True) + self.form.items(multi=True))

    @property
    def files(self) -> MultiDict:
        return MultiDict(self._parsed_form()[1])

    @property
    def cookies(self) -> dict[str, str]:
        jar = {}
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar
