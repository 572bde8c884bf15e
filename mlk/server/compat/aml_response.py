"""`azureml.contrib.services.aml_response.AMLResponse`, as score.py files construct it.

Same constructor and the same quirks as Azure's (a Flask Response there): a None message becomes `{}`,
`json_str=True` JSON-encodes the message, a generator is streamed as it yields (other iterables are
their chunks, joined), a `Content-Type` in `response_headers` replaces the default, and every header value is split on
commas into repeated headers. `data`, `mimetype`, `content_type` and `set_data` work as on Flask's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from mlk.server.compat.headers import Headers

DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"


class AMLResponse:
    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        response_headers = response_headers or {}
        self.status_code = int(status_code)
        self.headers = Headers()
        if message is None:
            self.data, content_type = b"{}", "application/json"
        elif json_str:
            self.data, content_type = json.dumps(message).encode(), "application/json"
        elif isinstance(message, Iterator):  # a generator: streamed as it yields (Azure's streaming sample)
            self._stream: Iterator[Any] | None = message
            content_type = DEFAULT_CONTENT_TYPE
        else:
            self.data = _body(message)
            content_type = DEFAULT_CONTENT_TYPE
        if message is None or json_str or "Content-Type" not in response_headers:
            self.headers.add("Content-Type", content_type)
        self.headers.set("x-ms-run-function-failed", run_function_failed)
        for name, value in response_headers.items():
            for part in str(value).split(","):
                self.headers.add(name, part.strip())

    _stream: Iterator[Any] | None = None
    _data: bytes = b""

    @property
    def data(self) -> bytes:
        if self._stream is not None:  # read before it was sent: the chunks, joined
            self._data, self._stream = _body(self._stream), None
        return self._data

    @data.setter
    def data(self, value: bytes) -> None:
        self._data, self._stream = value, None

    def take_stream(self) -> Iterator[Any] | None:
        """The body still to produce, for the server to send chunk by chunk (None when it is bytes)."""
        stream, self._stream = self._stream, None
        return stream

    @property
    def status(self) -> str:
        return str(self.status_code)

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.data.decode() if as_text else self.data

    def set_data(self, value: str | bytes) -> None:
        self.data = value.encode() if isinstance(value, str) else bytes(value)

    @property
    def response(self) -> list[bytes]:
        return [self.data]

    @response.setter
    def response(self, value: Any) -> None:
        self.data = _body(value)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @content_type.setter
    def content_type(self, value: str) -> None:
        self.headers.set("Content-Type", value)

    @property
    def mimetype(self) -> str | None:
        content_type = self.headers.get("Content-Type")
        return content_type.split(";")[0].strip() if content_type else None

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.headers.set("Content-Type", with_charset(value))


def _body(message: Any) -> bytes:
    """The bytes werkzeug would send for a response body: str and bytes as they are, any other iterable
    (a generator that streams, a list of chunks, a dict's keys) chunk by chunk, joined."""
    if isinstance(message, str):
        return message.encode()
    if isinstance(message, bytes | bytearray | memoryview):
        return bytes(message)
    try:
        chunks = iter(message)
    except TypeError:
        return str(message).encode()
    return b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)


_CHARSET_TYPES = {
    "application/ecmascript",
    "application/javascript",
    "application/sql",
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
}


def with_charset(mimetype: str) -> str:
    """A Content-Type for `mimetype` as werkzeug sets it: text types get `; charset=utf-8`."""
    if "charset" not in mimetype and (
        mimetype.startswith("text/")
        or mimetype in _CHARSET_TYPES
        or (mimetype.startswith("application/") and mimetype.endswith("+xml"))
    ):
        return f"{mimetype}; charset=utf-8"
    return mimetype
