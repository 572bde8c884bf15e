"""The router over real sockets, in front of fake replicas that count what they receive."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import yaml

from tests.router.fakes import KEY, SECOND, endpoint
from tests.server.harness import request

AUTH = {"Authorization": f"Bearer {KEY}"}
SCORE = "/api/v1/endpoint/my-endpoint/score"


def post(router, body: str = "hi", headers: dict[str, str] | None = None, path: str = SCORE):
    return request(router.port, "POST", path, body, {**AUTH, **(headers or {})})


def test_auth_routes_and_not_found(replicas, router) -> None:
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100}, green={"replicas": [r.url]}))
    assert post(rt).status == 200
    assert post(rt, headers={"Authorization": f"Bearer {SECOND}"}).status == 200
    for bad in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "garbage"}):
        answer = request(rt.port, "POST", SCORE, "hi", bad)
        assert answer.status == 401 and KEY.encode() not in answer.body
    assert post(rt, path="/api/v1/endpoint/nope/score").status == 404
    assert post(rt, path="/api/v1/endpoint/my-endpoint/other").status == 404
    assert post(rt, path="/anything").status == 404
    assert post(rt, headers={"azureml-model-deployment": "red"}).status == 404
    pinned = post(rt, headers={"azureml-model-deployment": "green"})  # 0% traffic, reachable when pinned
    assert pinned.status == 200 and pinned.header("azureml-model-deployment") == "green"
    assert request(rt.port, "GET", "/healthz").status == 200


def test_request_is_forwarded_without_the_key_and_with_an_id(replicas, router) -> None:
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100}))
    answer = post(rt, "payload", {"x-request-id": "my-id", "X-Extra": "1"}, path=SCORE + "?a=1")
    assert answer.status == 200 and answer.header("x-request-id") == "my-id"
    seen = json.loads(answer.body)
    assert seen["path"] == "/score?a=1" and seen["length"] == 7
    assert "authorization" not in seen["headers"] and seen["headers"]["x-request-id"] == "my-id"
    assert seen["headers"]["x-extra"] == "1"
    generated = post(rt)
    assert len(generated.header("x-request-id") or "") == 36


def test_headers_a_connection_field_names_are_not_forwarded(replicas, router) -> None:
    """RFC 9110 §7.6.1: what `Connection:` lists is for this hop alone."""
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100}))
    answer = post(
        rt, "payload", {"Connection": "keep-alive, X-Hop, x-other", "X-Hop": "1", "X-Other": "2", "X-Kept": "3"}
    )
    seen = json.loads(answer.body)["headers"]
    assert answer.status == 200 and seen["x-kept"] == "3"
    assert "x-hop" not in seen and "x-other" not in seen


def test_traffic_split_is_exact(replicas, router) -> None:
    blue, green = replicas(2)
    rt = router(endpoint(blue={"replicas": [blue.url], "traffic": 90}, green={"replicas": [green.url], "traffic": 10}))
    names = [post(rt).header("azureml-model-deployment") for _ in range(50)]
    assert names.count("green") == 5 and names.count("blue") == 45


def test_no_traffic_is_404(replicas, router) -> None:
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 0}))
    assert post(rt).status == 404


def test_least_loaded_with_concurrency_limit_queue_and_429(replicas, router) -> None:
    a, b = replicas(2)
    settings = {"max_concurrent_requests_per_instance": 1, "max_queue_wait_ms": 300, "request_timeout_ms": 5000}
    rt = router(endpoint(blue={"replicas": [a.url, b.url], "traffic": 100, "settings": settings}))
    results: list[int] = []

    def call(body: str) -> None:
        results.append(post(rt, body).status)

    threads = [threading.Thread(target=call, args=("sleep:0.5",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.max_in_flight == 1 and b.max_in_flight == 1  # never more than max_concurrent per replica
    assert sorted(results) == [200, 200, 429, 429]  # two wait 300 ms of a 500 ms job, then 429
    # the overall cap: 2 x concurrency x replicas = 4 in flight or queued; the fifth is refused at once
    results.clear()
    threads = [threading.Thread(target=call, args=("sleep:0.6",)) for _ in range(5)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert results.count(429) >= 3 and results.count(200) == 2


def test_idle_deployment_spreads_over_replicas(replicas, router) -> None:
    a, b, c = replicas(3)
    rt = router(endpoint(blue={"replicas": [a.url, b.url, c.url], "traffic": 100}))
    for _ in range(9):
        post(rt)
    assert [len(a.requests), len(b.requests), len(c.requests)] == [3, 3, 3]


def test_timeout_504_and_crash_502(replicas, router) -> None:
    [r] = replicas(1)
    settings = {"request_timeout_ms": 300}
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100, "settings": settings}))
    start = time.monotonic()
    assert post(rt, "sleep:2").status == 504 and time.monotonic() - start < 1.5
    crashed = post(rt, "status:500")
    assert crashed.status == 502 and json.loads(crashed.body) == {"message": "model said no"}
    assert post(rt, "status:429").status == 429  # other statuses pass through
    assert post(rt).status == 200  # and the router keeps serving


def test_refused_replica_is_retried_ejected_and_probed_back(replicas, router) -> None:
    a, b = replicas(2)
    rt = router(endpoint(blue={"replicas": [a.url, b.url], "traffic": 100}))
    a.stop()
    assert [post(rt).status for _ in range(10)] == [200] * 10  # refused on a: retried on b
    assert len(b.requests) == 10
    metrics = request(rt.port, "GET", "/metrics").body.decode()
    assert 'mlk_router_ejections_total{endpoint="my-endpoint",deployment="blue"} 1' in metrics
    assert 'mlk_router_replicas_healthy{endpoint="my-endpoint",deployment="blue"} 1' in metrics
    a.restart()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(req.path == "/score" for req in a.requests):
        post(rt)
        time.sleep(0.1)
    assert any(req.path == "/score" for req in a.requests)  # probed (GET /) and back in rotation


def test_streams_large_bodies_both_ways(replicas, router) -> None:
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100, "settings": {"request_timeout_ms": 20000}}))
    big = post(rt, "big:20000000")
    assert big.status == 200 and len(big.body) == 20_000_000
    upload = post(rt, "u" * 8_000_000)
    assert json.loads(upload.body)["length"] == 8_000_000


def test_mirror_copies_a_share_without_touching_answers(replicas, router) -> None:
    blue, shadow = replicas(2)
    ep = endpoint(blue={"replicas": [blue.url], "traffic": 100}, shadow={"replicas": [shadow.url]})
    ep["mirror_traffic"] = {"shadow": 20}
    rt = router(ep)
    answers = [post(rt, "x") for _ in range(20)]
    assert {a.header("azureml-model-deployment") for a in answers} == {"blue"}
    deadline = time.monotonic() + 3
    while len(shadow.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(blue.requests) == 20 and len(shadow.requests) == 4
    assert all(req.headers.get("x-ms-mirrored") == "true" for req in shadow.requests)


def test_reload_shifts_traffic_without_failing_requests_in_flight(replicas, router, tmp_path: Path) -> None:
    blue, green = replicas(2)
    rt = router(endpoint(blue={"replicas": [blue.url], "traffic": 100}, green={"replicas": [green.url]}))
    slow: list[int] = []
    worker = threading.Thread(target=lambda: slow.append(post(rt, "sleep:0.6").status))
    worker.start()
    time.sleep(0.1)
    (tmp_path / "router.yml").write_text(
        yaml.safe_dump({"endpoints": [endpoint(green={"replicas": [green.url], "traffic": 100})]})
    )  # blue is gone entirely
    deadline = time.monotonic() + 3
    while post(rt).header("azureml-model-deployment") != "green" and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.join()
    assert slow == [200]
    assert post(rt).header("azureml-model-deployment") == "green"
    (tmp_path / "router.yml").write_text("endpoints: [{name: x}")  # broken: the previous config stays
    time.sleep(0.5)
    assert post(rt).status == 200


def test_bad_clients_get_their_status_and_the_router_keeps_serving(replicas, router) -> None:
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100}))
    huge = request(rt.port, "GET", SCORE, headers={**AUTH, "X-Big": "y" * 70_000})
    assert huge.status == 431
    with socket.create_connection(("127.0.0.1", rt.port)) as garbage:
        garbage.sendall(b"NOT HTTP\r\n\r\n")
        garbage.settimeout(5)
        assert garbage.recv(1024).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", rt.port)) as conn:  # keep-alive and pipelining
        one = f"POST {SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 2\r\n\r\nhi"
        conn.sendall((one * 3).encode())
        conn.settimeout(5)
        data = b""
        while data.count(b"HTTP/1.1 200") < 3:
            data += conn.recv(65536)
    assert post(rt).status == 200


def test_metrics_show_load(replicas, router) -> None:
    [r] = replicas(1)
    rt = router(endpoint(blue={"replicas": [r.url], "traffic": 100}))
    post(rt)
    text = request(rt.port, "GET", "/metrics").body.decode()
    assert 'mlk_router_requests_total{endpoint="my-endpoint",deployment="blue",status="200"} 1' in text
    for name in (
        "mlk_router_utilization",
        "mlk_router_queue_depth",
        "mlk_router_in_flight",
        "mlk_router_request_duration_seconds_bucket",
    ):
        assert name in text


def test_connection_named_reads_every_connection_field() -> None:
    from mlk.router.headers import connection_named

    headers = [(b"Connection", b"close, X-A"), (b"connection", b" x-b ,"), (b"X-A", b"1")]
    assert connection_named(headers) == {b"close", b"x-a", b"x-b"}  # the answer's path drops them the same way


def test_a_request_whose_replica_died_before_taking_it_waits_for_a_slot_not_502(replicas, router) -> None:
    busy, dead = replicas(2)
    settings = {"max_concurrent_requests_per_instance": 1, "max_queue_wait_ms": 5000}
    rt = router(endpoint(blue={"replicas": [busy.url, dead.url], "traffic": 100, "settings": settings}))
    dead.stop()  # still in the configuration, as for the moments before the agent or operator drops it
    slow: list[int] = []
    worker = threading.Thread(target=lambda: slow.append(post(rt, "sleep:0.5").status))
    worker.start()
    time.sleep(0.1)  # the live replica is busy: the next request goes to the dead one, is refused, and waits
    answer = post(rt)
    worker.join()
    assert slow == [200]
    assert answer.status == 200 and json.loads(answer.body)["port"] == busy.port
