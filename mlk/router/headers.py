"""Which headers cross the router, in each direction, and the request head it sends a replica.

Hop-by-hop fields (RFC 9110 §7.6.1, and whatever a `Connection:` field names) and the fields the router
sets itself never pass as they came. The response head is built by mlk.http.head, as `mlk serve`'s is.
"""

from __future__ import annotations

from mlk.http import admission, peer

DROP_REQUEST = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"authorization",
        b"transfer-encoding",
        b"content-length",
        b"expect",
        b"x-request-id",
        b"azureml-model-deployment",
        admission.REQUEST_HEADER.encode(),
        peer.HEADER.encode(),  # a client never chooses it: the router sends its own
    }
)
DROP_RESPONSE = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"content-length",
        b"x-request-id",
        b"azureml-model-deployment",
        b"date",  # mlk.http.head writes the router's own
        b"server",
        b"trailer",
        b"upgrade",
    }
)


def connection_named(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The header names a `Connection:` field lists: hop-by-hop for this connection alone, never forwarded
    (RFC 9110 §7.6.1)."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(token.strip().lower() for token in value.split(b",") if token.strip())
    return named


def request_head(
    method: str,
    path: bytes,
    host: bytes,
    headers: list[tuple[bytes, bytes]],
    added: bytes,
) -> tuple[bytes, bool]:
    """The head the router sends a replica, and whether the body goes chunked; `added` are the router's own
    field lines (request id, replica token, admission limit)."""
    lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), path, host)]
    length = None
    chunked = False
    hop_by_hop = connection_named(headers)
    for name, value in headers:
        lowered = name.lower()
        if lowered in DROP_REQUEST:
            if lowered == b"content-length":
                length = value
            elif lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            continue
        if lowered in hop_by_hop:
            continue
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(added)
    if chunked:
        lines.append(b"Transfer-Encoding: chunked\r\n\r\n")
    elif length is not None:
        lines.append(b"Content-Length: %s\r\n\r\n" % length)
    else:
        lines.append(b"\r\n")
    return b"".join(lines), chunked


def relayed_fields(headers: list[tuple[bytes, bytes]]) -> tuple[list[bytes], bytes | None]:
    """The replica's header lines that reach the client, and its Content-Length (None without one)."""
    lines = []
    length = None
    hop_by_hop = connection_named(headers)
    for name, value in headers:
        lowered = name.lower()
        if lowered in DROP_RESPONSE:
            if lowered == b"content-length":
                length = value
            continue
        if lowered in hop_by_hop:
            continue
        lines.append(b"%s: %s\r\n" % (name, value))
    return lines, length
