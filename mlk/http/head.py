"""Response heads: the one status-line builder and reason-phrase table of `mlk serve` and the router.

Both write HTTP/1.1 heads in the same shape: status line, the caller's fields, one framing line
(Content-Length or Transfer-Encoding, or none when the body ends with the connection), `Connection: close`
when the connection ends after this answer, and a Date. The router's answers, its own and the ones it
relays, are built here as well, so a client sees the same head from either.
"""

from __future__ import annotations

import time
from http import HTTPStatus

REASONS: dict[int, bytes] = {status.value: status.phrase.encode() for status in HTTPStatus} | {
    # RFC 9110's names where Python 3.11's HTTPStatus still has RFC 2616's (Python 3.13 has these too)
    413: b"Content Too Large",
    414: b"URI Too Long",
    416: b"Range Not Satisfiable",
    422: b"Unprocessable Content",
}
UNKNOWN_REASON = b"Unknown"
"""For a status without a registered phrase (a replica may answer any three digits)."""
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The Date header value, formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode())
    return _date_cache[1]


def reason(status: int) -> bytes:
    return REASONS.get(status, UNKNOWN_REASON)


def response_head(status: int, fields: bytes, framing: bytes | None, *, keep_alive: bool) -> bytes:
    """The bytes of a response head up to its body.

    `fields` are complete header lines (each ending in CRLF) other than framing, Connection and Date, which
    this adds: `framing` is the Content-Length or Transfer-Encoding line without its CRLF (None: the body
    is delimited by closing the connection, so keep_alive must be False).
    """
    return b"HTTP/1.1 %d %s\r\n%s%s%sDate: %s\r\n\r\n" % (
        status,
        REASONS.get(status, UNKNOWN_REASON),
        fields,
        framing + b"\r\n" if framing else b"",
        b"" if keep_alive else b"Connection: close\r\n",
        http_date(),
    )
