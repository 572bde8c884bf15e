"""Form bodies as Flask parses them for `request.form` and `request.files`: urlencoded pairs, and
multipart/form-data split into text fields and uploaded files (werkzeug's FileStorage, the part scripts
use: filename, content_type, read()/seek(), save(), and being passed where a file object is expected,
as PIL.Image.open(request.files["file"]) does)."""

from __future__ import annotations

import io
import shutil
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import IO, Any

from mlk.server.compat.headers import ContentTyped, Headers
from mlk.server.query import parse_pairs

Pairs = list[tuple[str, Any]]


class FileStorage(ContentTyped):
    """One uploaded file; attribute access falls through to its stream, as werkzeug's does."""

    def __init__(self, data: bytes, filename: str | None, name: str, headers: Headers) -> None:
        self.stream = io.BytesIO(data)
        self.filename = filename
        self.name = name
        self.headers = headers

    @property
    def content_length(self) -> int:
        return len(self.stream.getbuffer())

    def save(self, dst: str | Path | IO[bytes], buffer_size: int = 16384) -> None:
        if isinstance(dst, str | Path):
            with open(dst, "wb") as out:
                shutil.copyfileobj(self.stream, out, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self) -> None:
        self.stream.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def __iter__(self) -> Any:
        return iter(self.stream)

    def __bool__(self) -> bool:
        return bool(self.filename)

    def __repr__(self) -> str:
        return f"<FileStorage: {self.filename!r} ({self.content_type!r})>"


def parse_form(content_type: str | None, body: bytes) -> tuple[Pairs, Pairs]:
    """(form fields, files) of a request body; both empty for bodies that are not forms."""
    mime, _, params = (content_type or "").partition(";")
    mime = mime.strip().lower()
    if mime == "application/x-www-form-urlencoded":
        return list(parse_pairs(body.decode("latin-1"))), []
    if mime != "multipart/form-data":
        return [], []
    boundary = _param(params, "boundary")
    if not boundary:
        return [], []
    fields: Pairs = []
    files: Pairs = []
    # The delimiter is CRLF "--" boundary; the body's first one has no CRLF before it.
    for chunk in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter: what follows is the epilogue
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = BytesHeaderParser(policy=policy.HTTP).parsebytes(
            head.lstrip(b" \t").removeprefix(b"\r\n") + b"\r\n\r\n"
        )
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = headers.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            files.append((name, FileStorage(content, filename, name, Headers(list(headers.items())))))
        else:
            fields.append((name, content.decode("utf-8", "replace")))
    return fields, files


def _param(params: str, wanted: str) -> str | None:
    for part in params.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip().lower() == wanted:
            return value.strip().strip('"')
    return None
