"""Differential tests: the same score.py files and requests against `mlk serve` and Azure's azmlinfsrv.

Each group starts both servers with one script (and environment), sends every request to both, and
compares status codes, bodies, and the headers clients rely on. Deliberate differences (keep-alive,
reason phrases, swagger descriptions, /metrics and /readyz) are left out here and listed in the README.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.server.harness import AZMLINFSRV, Reply, Server, azmlinfsrv, mlk_serve, request

pytestmark = [pytest.mark.reference, pytest.mark.slow]
JSON = {"Content-Type": "application/json"}
TRACE = ("x-request-id", "x-ms-request-id", "x-ms-client-request-id")
COMPARED = (
    "content-type",
    "x-ms-run-function-failed",
    "x-ms-server-version",
    "access-control-allow-origin",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "vary",
    "x-custom",
    "x-pot",
)


@dataclass
class Case:
    method: str
    path: str
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    swagger: bool = False

    def __str__(self) -> str:
        body = self.body if self.body is None or len(self.body) < 30 else f"{self.body[:27]!r}..."
        return f"{self.method} {self.path} {body!r} {self.headers if len(str(self.headers)) < 80 else '...'}"


BOUNDARY = "----mlk-form-7d3a"
MULTIPART = (
    (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="field1"\r\n\r\nvalue 1\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="field1"\r\n\r\nsecond\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file[]"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    + bytes(range(256)) * 3
    + (
        f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file[]"; filename="b.txt"\r\n\r\n'
        f"two\r\nlines\r\n--{BOUNDARY}--\r\nepilogue"
    ).encode()
)
MATRIX = [
    "str",
    "strjson",
    "dict",
    "list",
    "none",
    "int",
    "float",
    "nan",
    "bool",
    "tuple",
    "bytes",
    "set",
    "unicode",
    "emptydict",
    "aml",
    "aml500",
    "amlnone",
    "amljson",
    "amlbytes",
    "raise",
    '{"x": 1}',
    "",
]
GROUPS: dict[str, tuple[str, dict[str, str], list[Case]]] = {
    "plain": (
        "echo.py",
        {},
        [
            Case("GET", "/"),
            Case("HEAD", "/"),
            Case("POST", "/"),
            Case("GET", "/nope"),
            Case("GET", "/score/"),
            Case("PUT", "/score"),
            Case("DELETE", "/score"),
            Case("HEAD", "/score"),
            Case("OPTIONS", "/score"),
            Case("OPTIONS", "/"),
            Case("POST", "//score", "str"),
            *[Case("POST", "/score", body, JSON) for body in MATRIX],
            Case("POST", "/score", b"\xff\xfe abc"),
            Case("POST", "/score", "a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}),
            Case("GET", "/score"),
            Case("GET", "/score?x"),
            Case("GET", "/score?a=1&b=[1,2]&c=a&d=null&foo=bar1&foo=bar2&f=&g=1.50&h=true&i=%22q%22&p=%ZZ&r=%C3%A9"),
            Case("POST", "/score", "str", {"x-request-id": "my-id-1"}),
            Case("POST", "/score", "str", {"x-ms-client-request-id": "cid"}),
            Case("POST", "/score", "str", {"x-ms-request-id": "legacy"}),
            Case(
                "POST",
                "/score",
                "str",
                {"x-request-id": "rid", "x-ms-request-id": "legacy", "x-ms-client-request-id": "cid"},
            ),
            Case("POST", "/score", "str", {"x-request-id": "a" * 101}),
            Case("POST", "/score", "str", {"x-request-id": "a" * 100}),
            Case("POST", "/score", "str", {"x-ms-client-request-id": "c" * 101}),
            Case("GET", "/", headers={"x-request-id": "b" * 101}),
            Case("GET", "/swagger.json", swagger=True),
            Case("GET", "/swagger.json?version=3", swagger=True),
            Case("GET", "/swagger.json?version=3.1", swagger=True),
            Case("GET", "/swagger.json?version=2.0", swagger=True),
            Case("GET", "/swagger.json?version=4"),
            Case("GET", "/swagger.json?version="),
            Case("POST", "/swagger.json"),
        ],
    ),
    "headers": (
        "headers.py",
        {},
        [
            Case("POST", "/score", "x", {"X-Foo-Bar": "1", "Content-Type": "text/plain"}),
        ],
    ),
    "schema": (
        "schema_std.py",
        {},
        [
            Case("POST", "/score", '{"data": [1, 2.5], "name": "n"}', JSON),
            Case(
                "POST", "/score", '{"data": [1, 2.5], "name": "n"}', {"Content-Type": "application/json; charset=utf-8"}
            ),
            Case("POST", "/score", '{"data": [1, 2.5], "name": "n"}', {"Content-Type": "application/vnd.api+json"}),
            Case("POST", "/score", '{"data": [1, 2.5], "name": "n"}'),
            Case("POST", "/score", '{"data": [1, 2.5], "name": "n"}', {"Content-Type": "text/plain"}),
            Case("POST", "/score", '{"name": "n"}', JSON),
            Case("POST", "/score", "[1, 2]", JSON),
            Case("POST", "/score", '"str"', JSON),
            Case("POST", "/score", "", JSON),
            Case("POST", "/score", "{bad json", JSON),
            Case("POST", "/score", '{"data": [1], "x": 1} tail', JSON),
            Case("POST", "/score", b"\xff\xfe", JSON),
            Case("POST", "/score", '{"data": [1, 2], "name": 5}', JSON),
            Case("POST", "/score", '{"data": [1, 2], "name": "raise"}', JSON),
            Case("GET", "/score?data=[1,2]"),
            Case("GET", "/score?name=q"),
            Case("GET", "/score?data=1&data=2"),
            Case("HEAD", "/score"),
            Case("OPTIONS", "/score"),
            Case("GET", "/swagger.json", swagger=True),
            Case("GET", "/swagger.json?version=3", swagger=True),
        ],
    ),
    "numpy": (
        "schema_numpy.py",
        {},
        [
            Case("POST", "/score", '{"data": [[1, 2, 3], [4, 5, 6]]}', JSON),
            Case("POST", "/score", '{"data": [[1, 2]]}', JSON),
            Case("GET", "/swagger.json?version=3", swagger=True),
        ],
    ),
    "raw": (
        "rawhttp.py",
        {},
        [
            Case("POST", "/score?x=1&x=2&y=z", "hi", {"Content-Type": "text/plain", "X-Custom": "c"}),
            Case("GET", "/score?mode=str"),
            Case("GET", "/score?mode=raise"),
            Case("GET", "/score?mode=teapot"),
            Case("POST", "/score?mode=echo", b"\xff\x00\x01"),
            Case("POST", "/score?mode=json", '{"a": [1]}', JSON),
            Case("POST", "/score", "a=1&a=2", {"Content-Type": "application/x-www-form-urlencoded"}),
            Case("POST", "/score?mode=files", MULTIPART, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}),
            Case("POST", "/score", MULTIPART, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}),
            *[Case("GET", f"/score?mode={mode}") for mode in ("stream", "chunks", "dictbody", "content_type")],
            *[Case("GET", f"/score?mode=mimetype&type={kind}") for kind in ("image/jpg", "text/csv", "app/x+xml")],
            Case("GET", "/score?mode=set_data"),
            Case("GET", "/score?mode=underscore", headers={"is-stream": "true", "X-Custom": "c"}),
            Case("OPTIONS", "/score"),
            Case("PUT", "/score"),
        ],
    ),
    "timeout": (
        "echo.py",
        {"SCORING_TIMEOUT_MS": "1000"},
        [
            Case("POST", "/score", "sleep:3"),
            Case("POST", "/score", "str"),
        ],
    ),
    "cors": (
        "echo.py",
        {"AML_CORS_ORIGINS": "http://a.com, http://b.com"},
        [
            Case("POST", "/score", "str", {"Origin": "http://a.com"}),
            Case("POST", "/score", "str", {"Origin": "http://c.com"}),
            Case("GET", "/", headers={"Origin": "http://b.com"}),
            Case(
                "OPTIONS",
                "/score",
                headers={
                    "Origin": "http://b.com",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-foo",
                },
            ),
            Case("OPTIONS", "/score", headers={"Origin": "http://b.com", "Access-Control-Request-Method": "PUT"}),
            Case("GET", "/nope", headers={"Origin": "http://a.com"}),
        ],
    ),
}


def _comparable_body(case: Case, reply: Reply) -> object:
    if case.swagger and reply.status == 200:
        doc = json.loads(reply.body)
        schemas = doc.get("definitions") or doc["components"]["schemas"]
        return {
            "version": doc.get("swagger") or doc.get("openapi"),
            "paths": sorted(doc["paths"]),
            "ServiceInput": schemas["ServiceInput"],
            "ServiceOutput": schemas["ServiceOutput"],
            "info": {k: doc["info"][k] for k in ("title", "version")},
        }
    return reply.body


def _differences(case: Case, mine: Reply, theirs: Reply) -> list[str]:
    found = []
    if mine.status != theirs.status:
        found.append(f"status {mine.status} != {theirs.status}")
    if _comparable_body(case, mine) != _comparable_body(case, theirs):
        found.append(f"body {mine.body[:300]!r} != {theirs.body[:300]!r}")
    for name in COMPARED:
        if [v.lower() for v in mine.all(name)] != [v.lower() for v in theirs.all(name)]:
            found.append(f"{name}: {mine.all(name)} != {theirs.all(name)}")
    allowed = [sorted(v.replace(" ", "").split(",")) for v in mine.all("allow")]
    if allowed != [sorted(v.replace(" ", "").split(",")) for v in theirs.all("allow")]:  # werkzeug: set order
        found.append(f"allow: {mine.all('allow')} != {theirs.all('allow')}")
    if bool(mine.all("x-ms-run-fn-exec-ms")) != bool(theirs.all("x-ms-run-fn-exec-ms")):
        found.append(
            f"x-ms-run-fn-exec-ms present: {mine.all('x-ms-run-fn-exec-ms')} vs {theirs.all('x-ms-run-fn-exec-ms')}"
        )
    sent = {k.lower() for k in case.headers}
    for name in TRACE:
        mine_v, theirs_v = mine.header(name), theirs.header(name)
        if (mine_v is None) != (theirs_v is None):
            found.append(f"{name} present: {mine_v!r} vs {theirs_v!r}")
            continue
        # values must agree unless both servers generated them (a fresh uuid each)
        if name == "x-request-id":
            from_client = name in sent
        else:
            from_client = bool(sent & {"x-ms-request-id", "x-ms-client-request-id"})
        if from_client and mine_v != theirs_v:
            found.append(f"{name}: {mine_v!r} != {theirs_v!r}")
    return found


@pytest.fixture(scope="module", params=sorted(GROUPS))
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server, Server]]:
    if not AZMLINFSRV.exists():
        pytest.skip(f"azmlinfsrv reference absent ({AZMLINFSRV}); create it with scripts/setup --reference")
    script, env, _ = GROUPS[request.param]
    with mlk_serve(script, env=env) as mine, azmlinfsrv(script, env=env) as theirs:
        yield request.param, mine, theirs


def test_same_answers_as_azmlinfsrv(pair: tuple[str, Server, Server]) -> None:
    group, mine, theirs = pair
    problems = []
    for case in GROUPS[group][2]:
        a = request(mine.port, case.method, case.path, case.body, case.headers)
        b = request(theirs.port, case.method, case.path, case.body, case.headers)
        for difference in _differences(case, a, b):
            problems.append(f"{case}: {difference}")
    assert not problems, "\n".join(problems)
