"""The scoring app without sockets: routes, run() modes, results, errors, ids, CORS, swagger, timeouts."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.server.conftest import header

JSON = {"Content-Type": "application/json"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def body(response: object) -> object:
    return json.loads(response.body)  # type: ignore[attr-defined]


def test_health_and_tracing_headers(scoring) -> None:
    _, call = scoring("echo.py")
    r = call("GET", "/")
    assert (r.status, r.body, header(r, "Content-Type")) == (200, b"Healthy", "text/html; charset=utf-8")
    assert UUID.match(header(r, "x-request-id")) and header(r, "x-ms-request-id") == header(r, "x-request-id")
    assert header(r, "x-ms-server-version") == "azmlinfsrv/1.5.1" and header(r, "x-ms-run-function-failed") is None


@pytest.mark.parametrize(
    ("data", "status", "expected"),
    [
        ("str", 200, b'"hello"'),
        ("strjson", 200, b'"{\\"a\\": 1}"'),
        ("none", 200, b"{}"),
        ("int", 200, b"42"),
        ("dict", 200, b'{"a": 1, "b": [1, 2]}'),
        ("tuple", 200, b"[1, 2]"),
        ("nan", 200, b"NaN"),
        ("unicode", 200, b'"h\\u00e9llo \\u2603"'),
        ("emptydict", 200, b"{}"),
    ],
)
def test_results_are_json_encoded_like_azmlinfsrv(scoring, data: str, status: int, expected: bytes) -> None:
    _, call = scoring("echo.py")
    r = call("POST", "/score", data, JSON)
    assert (r.status, r.body) == (status, expected)
    assert header(r, "Content-Type") == "application/json" and header(r, "x-ms-run-function-failed") == "False"
    assert re.fullmatch(r"\d+\.\d{3}", header(r, "x-ms-run-fn-exec-ms") or "")


@pytest.mark.parametrize("data", ["bytes", "set"])
def test_unencodable_results_are_internal_errors(scoring, data: str) -> None:
    _, call = scoring("echo.py")
    r = call("POST", "/score", data)
    assert r.status == 500 and header(r, "x-ms-run-function-failed") == "False"
    assert body(r) == {"message": "An unexpected internal error occurred. Check the logs for more info."}
    assert header(r, "x-ms-run-fn-exec-ms") is None


def test_run_raising_is_500_with_the_failure_header(scoring) -> None:
    _, call = scoring("echo.py")
    r = call("POST", "/score", "raise")
    assert r.status == 500 and header(r, "x-ms-run-function-failed") == "True"
    assert body(r) == {"message": "An unexpected error occurred in scoring script. Check the logs for more info."}
    assert b"boom" not in r.body  # the traceback goes to the log, never to the client


def test_aml_responses(scoring) -> None:
    _, call = scoring("echo.py")
    r = call("POST", "/score", "aml")
    assert (r.status, r.body) == (201, b"raw body")
    assert [v for k, v in r.headers if k == "X-Custom"] == ["a", "b"] and header(r, "Content-Type") == "text/plain"
    bad = call("POST", "/score", "aml500")
    assert bad.status == 503 and header(bad, "x-ms-run-function-failed") == "True"
    assert header(bad, "Content-Type") == "text/html; charset=utf-8"
    assert call("POST", "/score", "amlnone").body == b"{}"
    assert call("POST", "/score", "amljson").body == b'{"k": "v"}'
    png = call("POST", "/score", "amlbytes")
    assert png.body == b"\x89PNG\x00\xff" and header(png, "Content-Type") == "image/png"


def test_a_header_with_cr_lf_or_nul_is_a_500_never_a_split_response(scoring) -> None:
    _, call = scoring("echo.py")
    for case in ("amlsplit", "amlnul"):
        r = call("POST", "/score", case)
        assert r.status == 500, case
        assert header(r, "Set-Cookie") is None and b"stolen" not in r.body
    assert call("POST", "/score", "aml").status == 201  # the next request on the server is served


def test_plain_inputs(scoring) -> None:
    _, call = scoring("echo.py")
    assert body(call("POST", "/score", '{"x": 1}', JSON))["echo"] == '{"x": 1}'
    assert body(call("GET", "/score?a=1&b=[1,2]&c=x&c=y"))["json"] == {"a": 1, "b": [1, 2], "c": ["x", "y"]}
    assert body(call("GET", "/score"))["echo"] == "{}"
    form = call("POST", "/score", "a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"})
    assert body(form)["echo"] == ""  # Flask consumes form bodies in azmlinfsrv; run() sees ""
    bad = call("POST", "/score", b"\xff\xfe abc")
    assert bad.status == 400 and body(bad)["message"].startswith("Input cannot be decoded as UTF-8: 'utf-8' codec")


def test_request_headers_keyword(scoring) -> None:
    _, call = scoring("headers.py")
    r = body(call("POST", "/score", "x", {"X-Foo-Bar": "1", "Content-Type": "text/plain", "x_dropped": "1"}))
    assert r == {"data": "x", "picked": {"X-Foo-Bar": "1", "Content-Type": "text/plain"}, "has_host": False}


def test_schema_mode(scoring) -> None:
    _, call = scoring("schema_std.py")
    ok = body(call("POST", "/score", '{"data": [1, 2.5], "name": "n"}', JSON))
    assert ok == {"data": [1, 2.5], "name": "n", "data_type": "list", "headers": True}
    assert body(call("GET", "/score?data=[1,2]"))["name"] == "default"
    cases = [
        ('{"data": [1]}', {}, 415, "Expects Content-Type to be application/json"),
        ('{"name": "n"}', JSON, 400, "A value is not provided for the 'data' parameter."),
        ("[1, 2]", JSON, 400, "POST body should be a JSON dictionary."),
        ("", JSON, 400, "POST body is empty. Expecting a JSON dictionary."),
        (
            "{bad",
            JSON,
            400,
            "POST body could not be decoded as JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1)",
        ),
    ]
    for data, headers, status, message in cases:
        r = call("POST", "/score", data, headers)
        assert (r.status, body(r)) == (status, {"message": message}), data
    typed = call("POST", "/score", '{"data": [1, 2], "name": 5}', JSON)
    assert typed.status == 500 and header(typed, "x-ms-run-function-failed") == "True"


def test_numpy_schema(scoring) -> None:
    _, call = scoring("schema_numpy.py")
    assert body(call("POST", "/score", '{"data": [[1, 2, 3], [4, 5, 6]]}', JSON)) == [6.0, 15.0]


def test_rawhttp(scoring) -> None:
    _, call = scoring("rawhttp.py")
    info = body(call("POST", "/score?x=1&x=2&y=z", "hi", {"Content-Type": "text/plain", "X-Custom": "c"}))
    assert info["method"] == "POST" and info["full_path"] == "/score?x=1&x=2&y=z"
    assert info["args"] == {"x": ["1", "2"], "y": ["z"]} and info["data"] == "hi" and info["x_custom"] == "c"
    assert body(call("OPTIONS", "/score"))["method"] == "OPTIONS"  # @rawhttp sees every method
    assert call("GET", "/score?mode=str").body == b'"plain string"'
    echo = call("POST", "/score?mode=echo", b"\xff\x00")
    assert echo.body == b"\xff\x00"
    teapot = call("GET", "/score?mode=teapot")
    assert teapot.status == 418 and header(teapot, "X-Pot") == "tea"


def test_methods_and_routes(scoring) -> None:
    _, call = scoring("echo.py")
    assert call("OPTIONS", "/score").status == 200 and call("OPTIONS", "/score").body == b""
    head = call("HEAD", "/score")
    assert head.status == 405 and header(head, "x-request-id")
    put = call("PUT", "/score")
    assert put.status == 405 and header(put, "x-request-id") is None
    assert body(put) == {"message": "The method is not allowed for the requested URL."}
    missing = call("GET", "/score/")
    assert missing.status == 404 and header(missing, "x-request-id") is None
    assert call("POST", "//score", "str").body == b'"hello"'


def test_request_ids(scoring) -> None:
    _, call = scoring("echo.py")
    mine = call("GET", "/", headers={"x-request-id": "my-id-1"})
    assert header(mine, "x-request-id") == header(mine, "x-ms-request-id") == "my-id-1"
    client = call("GET", "/", headers={"x-ms-client-request-id": "cid"})
    assert header(client, "x-ms-request-id") == header(client, "x-ms-client-request-id") == "cid"
    assert UUID.match(header(client, "x-request-id"))
    too_long = call("POST", "/score", "str", {"x-request-id": "a" * 101})
    assert too_long.status == 431 and body(too_long) == {"message": "x-request-id must not exceed 100 characters"}
    assert header(too_long, "x-request-id") is None
    legacy = call("POST", "/score", "str", {"x-ms-client-request-id": "c" * 101})
    assert legacy.status == 431 and header(legacy, "x-request-id")
    assert call("GET", "/", headers={"x-request-id": "a" * 100}).status == 200


def test_cors(scoring) -> None:
    _, call = scoring("echo.py", cors_origins="http://a.com, http://b.com")
    allowed = call("POST", "/score", "str", {"Origin": "http://a.com"})
    assert header(allowed, "Access-Control-Allow-Origin") == "http://a.com" and header(allowed, "Vary") == "Origin"
    assert header(call("POST", "/score", "str", {"Origin": "http://c.com"}), "Access-Control-Allow-Origin") is None
    preflight = call(
        "OPTIONS",
        "/score",
        headers={
            "Origin": "http://b.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-foo",
        },
    )
    assert header(preflight, "Access-Control-Allow-Headers") == "content-type, x-foo"
    assert header(preflight, "Access-Control-Allow-Methods") == "GET, POST"


def test_swagger(scoring) -> None:
    _, call = scoring("schema_std.py")
    doc = body(call("GET", "/swagger.json"))
    assert doc["swagger"] == "2.0" and set(doc["paths"]) == {"/", "/score", "/swagger.json"}
    assert doc["definitions"]["ServiceInput"]["example"] == {"data": [1.0, 2.0], "name": "abc", "request_headers": ""}
    assert body(call("GET", "/swagger.json?version=3.1"))["openapi"] == "3.1.0"
    bad = call("GET", "/swagger.json?version=4")
    assert (bad.status, body(bad)) == (
        404,
        {"message": "Swagger version [4] is not valid. Supported versions: [2, 3, 3.1]."},
    )
    _, plain = scoring("echo.py")
    assert body(plain("GET", "/swagger.json?version=3"))["components"]["schemas"]["ServiceInput"] == {
        "type": "object",
        "example": {},
    }


def test_scoring_timeout_answers_and_the_next_request_is_served(scoring) -> None:
    app, call = scoring("echo.py", env={"SCORING_TIMEOUT_MS": "300"})
    start = time.monotonic()
    slow = call("POST", "/score", "sleep:2")
    assert time.monotonic() - start < 1.5
    assert (slow.status, body(slow)) == (500, {"message": "Scoring timeout after 300 ms"})
    assert header(slow, "x-ms-run-function-failed") == "True"
    assert call("POST", "/score", "str").body == b'"hello"'
    assert app.runner.abandoned == 1


def test_metrics_and_readiness(scoring) -> None:
    app, call = scoring("echo.py")
    call("POST", "/score", "str")
    app.observe(
        __import__("mlk.http.message", fromlist=["Request"]).Request("POST", "/score", "/score", "", {}, b""),
        call("POST", "/score", "str"),
        0.001,
    )
    text = call("GET", "/metrics").body.decode()
    assert 'mlk_server_requests_total{route="/score",status="200"} 1' in text
    assert "mlk_server_request_duration_seconds_bucket" in text and "mlk_server_in_flight 0" in text
    assert call("GET", "/readyz").status == 200
