"""How a connection carries requests, against both protocols (tests/http/targets.py): pipelining depth and
order, keep-alive and close, HEAD, streamed answers, slow-client deadlines and draining.

Pipelining: requests behind the one being answered are read ahead up to MAX_PIPELINED; reading pauses
there and resumes once fewer than half are left; answers go out in the order the requests came.
"""

from __future__ import annotations

import json

import pytest

from mlk.http.limits import MAX_PIPELINED
from tests.http.targets import LIMITS, Conn


def _queries(conn: Conn) -> list[str]:
    return [json.loads(answer.body)["query"] for answer in conn.answers() if answer.status == 200]


def test_pipelined_requests_are_answered_in_order(conn: Conn) -> None:
    conn.send(b"".join(conn.request(query=b"n=%d" % i) for i in range(5)))
    assert _queries(conn) == [f"n={i}" for i in range(5)]
    assert not conn.closed


def test_requests_behind_a_slow_answer_wait_their_turn(conn: Conn) -> None:
    conn.send(conn.request(query=b"hold") + conn.request(query=b"n=1") + conn.request(query=b"n=2"))
    assert conn.answers() == []
    conn.app.release()
    conn.settle()
    assert _queries(conn) == ["hold", "n=1", "n=2"]


@pytest.mark.parametrize(("behind", "paused"), [(MAX_PIPELINED - 1, False), (MAX_PIPELINED, True)])
def test_reading_pauses_at_the_pipelining_depth(conn: Conn, behind: int, paused: bool) -> None:
    assert LIMITS.max_pipelined == MAX_PIPELINED == 8
    conn.send(conn.request(query=b"hold") + b"".join(conn.request(query=b"n=%d" % i) for i in range(behind)))
    assert conn.paused is paused
    conn.app.release()
    conn.settle()
    assert _queries(conn) == ["hold", *(f"n={i}" for i in range(behind))]
    assert not conn.paused and not conn.closed


def test_keep_alive_is_the_default_for_http_1_1(conn: Conn) -> None:
    conn.send(conn.request())
    conn.send(conn.request(query=b"again"))
    assert [a.headers.get(b"connection") for a in conn.answers()] == [None, None]
    assert _queries(conn) == ["", "again"] and not conn.closed


@pytest.mark.parametrize(
    ("version", "headers", "kept"),
    [
        (b"1.1", b"Connection: close\r\n", False),
        (b"1.0", b"", False),
        (b"1.0", b"Connection: keep-alive\r\n", True),
    ],
)
def test_the_client_chooses_whether_the_connection_stays(
    conn: Conn, version: bytes, headers: bytes, kept: bool
) -> None:
    conn.send(conn.request(version=version, headers=headers))
    [answer] = conn.answers()
    assert answer.status == 200
    assert (answer.headers.get(b"connection") == b"close") is not kept
    assert conn.closed is not kept


def test_requests_after_connection_close_are_not_answered(conn: Conn) -> None:
    conn.send(conn.request(headers=b"Connection: close\r\n") + conn.request(query=b"after"))
    assert _queries(conn) == [""] and conn.closed


def test_head_gets_the_length_of_the_body_it_does_not_get(conn: Conn) -> None:
    conn.send(conn.request(b"HEAD") + conn.request(b"GET"))
    head, get = conn.answers("HEAD", "GET")
    assert (head.status, head.body) == (200, b"")
    as_head = get.body.replace(b'"GET"', b'"HEAD"')  # what the app would have sent
    assert head.headers[b"content-length"] == b"%d" % len(as_head)
    assert get.headers[b"content-length"] == b"%d" % len(get.body)
    assert json.loads(get.body)["method"] == "GET" and not conn.closed


def test_a_streamed_answer_is_chunked_for_http_1_1(conn: Conn) -> None:
    conn.send(conn.request(query=b"stream"))
    [answer] = conn.answers()
    assert answer.headers[b"transfer-encoding"] == b"chunked" and answer.body == b"firstsecond"
    assert not conn.closed


def test_a_streamed_answer_to_http_1_0_ends_with_the_connection(conn: Conn) -> None:
    conn.send(conn.request(query=b"stream", version=b"1.0", headers=b"Connection: keep-alive\r\n"))
    [answer] = conn.answers()
    assert b"transfer-encoding" not in answer.headers and b"content-length" not in answer.headers
    assert answer.headers[b"connection"] == b"close" and answer.body == b"firstsecond"
    assert conn.closed


def test_every_answer_has_a_date_and_the_shared_reason_phrase(conn: Conn) -> None:
    conn.send(conn.request())
    [answer] = conn.answers()
    assert (answer.status, answer.reason) == (200, b"OK") and answer.headers[b"date"].endswith(b" GMT")


# --- deadlines and draining -----------------------------------------------------------------------------
def test_a_request_not_received_in_time_is_408(conn: Conn) -> None:
    conn.send(conn.request(b"POST", headers=b"Content-Length: 10\r\n", body=b"ab"))
    conn.call(conn.protocol.check_deadline, float("inf"))
    assert conn.statuses() == [408] and conn.closed


def test_an_idle_connection_past_its_deadline_is_closed_without_a_word(conn: Conn) -> None:
    conn.send(conn.request())
    conn.call(conn.protocol.check_deadline, float("inf"))
    assert conn.statuses() == [200] and conn.closed


def test_an_answer_under_way_is_not_cut_by_the_deadline(conn: Conn) -> None:
    conn.send(conn.request(query=b"hold"))
    conn.call(conn.protocol.check_deadline, float("inf"))
    assert not conn.closed
    conn.app.release()
    conn.settle()
    assert conn.statuses() == [200]


def test_draining_answers_with_connection_close(conn: Conn) -> None:
    conn.connections.draining = True
    conn.send(conn.request())
    [answer] = conn.answers()
    assert answer.status == 200 and answer.headers[b"connection"] == b"close" and conn.closed


def test_draining_closes_an_idle_connection_and_lets_an_answer_finish(conn: Conn) -> None:
    conn.send(conn.request(query=b"hold"))
    conn.call(conn.protocol.drain)
    assert not conn.closed
    conn.app.release()
    conn.settle()
    conn.call(conn.protocol.drain)
    assert conn.statuses() == [200] and conn.closed
