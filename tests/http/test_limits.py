"""What a client may send, against both protocols (tests/http/targets.py): the request line, headers and
body limits, 100 Continue, and malformed input — the same status from `mlk serve` and from the router.

Statuses as uvicorn (h11) and nginx answer them: 414 for a request target over the head limit, 431 for
headers over it, 413 for a body over the body limit (from its Content-Length before any body is read,
or at the chunk that crosses it), 400 for what cannot be parsed; each refusal closes the connection.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlk.http.head import CONTINUE
from tests.http.targets import KINDS, LIMITS, Conn, Kind

BODY_LIMIT = LIMITS.max_body_bytes


def _chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def _refused(conn: Conn, status: int, phrase: bytes) -> None:
    [answer] = conn.answers()
    assert (answer.status, answer.reason) == (status, phrase)
    assert answer.headers[b"connection"] == b"close" and answer.headers[b"content-type"] == b"application/json"
    assert conn.closed


def test_a_request_target_over_the_limit_is_414(conn: Conn) -> None:
    conn.send(conn.request(query=b"q=" + b"a" * LIMITS.max_header_bytes))
    _refused(conn, 414, b"URI Too Long")


def test_a_request_target_over_the_limit_across_reads_is_414(conn: Conn) -> None:
    request = conn.request(query=b"q=" + b"a" * LIMITS.max_header_bytes)
    conn.send(request[:600], request[600:])
    _refused(conn, 414, b"URI Too Long")


@pytest.mark.parametrize(
    "field", [b"X-Big: " + b"y" * 1100 + b"\r\n", b"X-" + b"n" * 1100 + b": 1\r\n", b"X-A: 1\r\n" * 200]
)
def test_headers_over_the_limit_are_431(conn: Conn, field: bytes) -> None:
    conn.send(conn.request(headers=field))
    _refused(conn, 431, b"Request Header Fields Too Large")


def test_a_target_within_the_limit_with_headers_past_it_is_431(conn: Conn) -> None:
    query = b"q=" + b"a" * (LIMITS.max_header_bytes - 200)
    conn.send(conn.request(query=query, headers=b"X-Big: " + b"y" * 300 + b"\r\n"))
    _refused(conn, 431, b"Request Header Fields Too Large")


def test_a_declared_body_over_the_limit_is_413_before_any_of_it_is_read(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=b"Content-Length: %d\r\n" % (BODY_LIMIT + 1)))
    _refused(conn, 413, b"Content Too Large")
    assert b"larger than %d bytes" % BODY_LIMIT in conn.answers()[0].body


def test_headers_are_judged_before_the_declared_body(conn: Conn) -> None:
    too_long = b"Content-Length: %d\r\nX-Big: %s\r\n" % (BODY_LIMIT + 1, b"y" * 1100)
    conn.send(conn.request(b"POST", headers=too_long))
    _refused(conn, 431, b"Request Header Fields Too Large")


def test_a_chunked_body_growing_past_the_limit_is_413(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=b"Transfer-Encoding: chunked\r\n"))
    conn.send(b"%x\r\n%s\r\n" % (BODY_LIMIT, b"z" * BODY_LIMIT))
    assert conn.answers() == [] and not conn.closed  # at the limit: still reading
    conn.send(b"1\r\nz\r\n")
    _refused(conn, 413, b"Content Too Large")


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_at_the_limit_is_read_whole(conn: Conn, chunked: bool) -> None:
    body = b"b" * BODY_LIMIT
    if chunked:
        conn.send(
            conn.request(b"POST", headers=b"Transfer-Encoding: chunked\r\n", body=_chunked(body[:100], body[100:]))
        )
    else:
        conn.send(conn.request(b"POST", headers=b"Content-Length: %d\r\n" % len(body), body=body))
    [answer] = conn.answers()
    assert answer.status == 200 and b'"length": %d' % BODY_LIMIT in answer.body
    assert not conn.closed


# --- 100 Continue ---------------------------------------------------------------------------------------
EXPECT = b"Expect: 100-continue\r\nContent-Length: 5\r\n"


def test_100_continue_is_sent_before_the_body_and_then_the_answer(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=EXPECT))
    assert bytes(conn.transport.written) == CONTINUE
    conn.send(b"hello")
    assert conn.statuses() == [100, 200]


def test_no_100_continue_for_a_body_over_the_limit(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=b"Expect: 100-continue\r\nContent-Length: %d\r\n" % (BODY_LIMIT + 1)))
    _refused(conn, 413, b"Content Too Large")


def test_no_100_continue_once_the_body_has_come(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=EXPECT, body=b"hel"), b"lo")  # the client did not wait
    assert conn.statuses() == [200]


def test_100_continue_for_a_chunked_body_then_413_past_the_limit(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=b"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n"))
    conn.send(b"%x\r\n%s\r\n" % (BODY_LIMIT + 1, b"z" * (BODY_LIMIT + 1)))
    assert conn.statuses() == [100, 413] and conn.closed


def test_100_continue_waits_for_the_answers_before_it(conn: Conn) -> None:
    conn.send(conn.request(query=b"hold") + conn.request(b"POST", headers=EXPECT))
    assert conn.answers() == []  # never into the middle of the held answer
    conn.app.release()
    conn.settle()
    assert conn.statuses() == [200, 100]
    conn.send(b"hello")
    assert conn.statuses() == [200, 100, 200]


# --- malformed input ------------------------------------------------------------------------------------
MALFORMED = {
    "not HTTP": lambda c: b"GARBAGE\r\n\r\n",
    "bad header name": lambda c: c.request(headers=b"Bad Header: x\r\n"),
    "bad content length": lambda c: c.request(b"POST", headers=b"Content-Length: -1\r\n"),
    "two content lengths": lambda c: c.request(b"POST", headers=b"Content-Length: 1\r\nContent-Length: 2\r\n"),
    "length and chunked": lambda c: c.request(
        b"POST", headers=b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", body=_chunked(b"abc")
    ),
    "bad chunk size": lambda c: c.request(b"POST", headers=b"Transfer-Encoding: chunked\r\n", body=b"zz\r\n"),
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests_are_400_and_close(conn: Conn, make: Callable[[Conn], bytes]) -> None:
    conn.send(make(conn))
    _refused(conn, 400, b"Bad Request")
    assert conn.answers()[0].body.startswith(b'{"message": "malformed HTTP request: ')


def test_a_malformed_request_behind_others_is_answered_after_them(conn: Conn) -> None:
    conn.send(conn.request(query=b"hold") + b"GARBAGE\r\n\r\n")
    assert conn.answers() == [] and not conn.closed
    conn.app.release()
    conn.settle()
    assert conn.statuses() == [200, 400] and conn.closed


REFUSED = {
    **MALFORMED,
    "long target": lambda c: c.request(query=b"q=" + b"a" * 2000),
    "long headers": lambda c: c.request(headers=b"X-Big: " + b"y" * 1100 + b"\r\n"),
    "long body": lambda c: c.request(b"POST", headers=b"Content-Length: %d\r\n" % (BODY_LIMIT + 1)),
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
def test_both_protocols_refuse_with_the_same_bytes(
    connect: Callable[[Kind], Conn], make: Callable[[Conn], bytes]
) -> None:
    refusals = []
    for kind in KINDS:
        conn = connect(kind)
        conn.send(make(conn))
        refusals.append(conn.transport.written.split(b"Date: ")[0] + conn.answers()[0].body)
    assert refusals[0] == refusals[1]
