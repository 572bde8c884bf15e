"""`azureml.contrib.services.aml_response.AMLResponse`, as score.py files construct it.

Same constructor and the same quirks as Azure's (a Flask Response there): a None message becomes `{}`,
`json_str=True` JSON-encodes the message, a `Content-Type` in `response_headers` replaces the default, and
every header value is split on commas into repeated headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
        else:
            self.data = message if isinstance(message, bytes) else str(message).encode()
            content_type = DEFAULT_CONTENT_TYPE
        if message is None or json_str or "Content-Type" not in response_headers:
            self.headers.add("Content-Type", content_type)
        self.headers.set("x-ms-run-function-failed", run_function_failed)
        for name, value in response_headers.items():
            for part in str(value).split(","):
                self.headers.add(name, part.strip())

    @property
    def status(self) -> str:
        return str(self.status_code)

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.data.decode() if as_text else self.data

    @property
    def mimetype(self) -> str | None:
        content_type = self.headers.get("Content-Type")
        return content_type.split(";")[0].strip() if content_type else None
