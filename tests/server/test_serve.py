"""`mlk serve` as a process, over real sockets: start-up failures, workers, limits, slow clients, shutdown."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

import pytest

from tests.server.harness import mlk_serve, request

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("script", "says"),
    [
        ("bad_init.py", "init boom: the model file is missing"),
        ("no_run.py", "does not have a run() function defined"),
        ("no_init.py", "does not have a init() function defined"),
        ("star_args.py", "run() cannot accept positional-only arguments, *args, or **kwargs."),
        ("import_error.py", "No module named 'a_module_that_is_not_installed'"),
        ("missing.py", "No such file or directory"),
    ],
)
def test_scripts_that_cannot_start_exit_3_with_the_reason_in_the_log(script: str, says: str) -> None:
    server = mlk_serve(script).start(wait=False)
    assert server.process is not None
    code = server.process.wait(timeout=30)
    server.stop()
    assert code == 3, server.output
    assert says in server.output


def test_serves_keeps_alive_and_shuts_down_gracefully() -> None:
    with mlk_serve("echo.py", None, "--model_dir", "/models") as server:
        conn = socket.create_connection(("127.0.0.1", server.port))
        for _ in range(3):  # several requests on one connection (azmlinfsrv closes every time)
            conn.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nstr")
            reply = conn.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b'"hello"')
        conn.close()
        assert json.loads(request(server.port, "POST", "/score", "modeldir").body) == {"model_dir": "/models"}
        slow: list[int] = []
        worker = threading.Thread(target=lambda: slow.append(request(server.port, "POST", "/score", "sleep:1").status))
        worker.start()
        time.sleep(0.3)
        code = server.stop(signal.SIGTERM)
        worker.join()
    assert slow == [200] and code == 0  # the request in flight finished before the server left


def test_workers_share_the_port_and_run_init_themselves() -> None:
    with mlk_serve("echo.py", None, "--worker_count", "2") as server:
        pids = set()
        # The server is ready once one worker listens; the other may still be importing score.py on a slow
        # machine, and the kernel may hand a quiet socket's connections to one worker for a while: keep asking.
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            answer = json.loads(request(server.port, "POST", "/score", "pid").body)
            assert answer["pid"] == answer["init_pid"]
            pids.add(answer["pid"])
            time.sleep(0.02)
    assert len(pids) == 2


def test_run_is_not_called_concurrently_and_probes_do_not_wait_behind_it() -> None:
    with mlk_serve("echo.py") as server:
        results: list[float] = []

        def slow() -> None:
            start = time.monotonic()
            request(server.port, "POST", "/score", "sleep:0.5")
            results.append(time.monotonic() - start)

        threads = [threading.Thread(target=slow) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.1)
        start = time.monotonic()
        assert request(server.port, "GET", "/").status == 200
        assert time.monotonic() - start < 0.3  # liveness answers while run() works
        for t in threads:
            t.join()
    assert sorted(results)[1] >= 0.95  # the second call waited for the first: one run() at a time


def test_limits_and_bad_input_keep_the_server_serving() -> None:
    with mlk_serve("echo.py", None, "--max-body-size", "1000", env={"MLK_READ_TIMEOUT_S": "1"}) as server:
        big = request(server.port, "POST", "/score", "x" * 2000)
        assert big.status == 413
        assert request(server.port, "POST", "/score", b"\xff\xfe").status == 400
        assert request(server.port, "POST", "/score", "{not json", JSON).status == 200  # plain run() gets text
        huge_header = request(server.port, "GET", "/", headers={"X-Big": "y" * 70_000})
        assert huge_header.status == 431
        with socket.create_connection(("127.0.0.1", server.port)) as slowloris:
            slowloris.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
            slowloris.settimeout(5)
            assert slowloris.recv(65536).startswith(b"HTTP/1.1 408")
        with socket.create_connection(("127.0.0.1", server.port)) as garbage:
            garbage.sendall(b"GARBAGE\r\n\r\n")
            garbage.settimeout(5)
            assert garbage.recv(65536).startswith(b"HTTP/1.1 400")
        assert json.loads(request(server.port, "POST", "/score", "print").body) == {"printed": 1_000_000}
        assert request(server.port, "POST", "/score", "str").body == b'"hello"'


def test_timeout_then_next_request_served() -> None:
    with mlk_serve("echo.py", env={"SCORING_TIMEOUT_MS": "500"}) as server:
        start = time.monotonic()
        slow = request(server.port, "POST", "/score", "sleep:3")
        assert slow.status == 500 and time.monotonic() - start < 2
        assert json.loads(slow.body) == {"message": "Scoring timeout after 500 ms"}
        assert request(server.port, "POST", "/score", "str").status == 200
        metrics = request(server.port, "GET", "/metrics").body.decode()
        assert 'mlk_server_requests_total{route="/score",status="500"} 1' in metrics


def _read_until(conn: socket.socket, marker: bytes, seen: bytes = b"") -> bytes:
    while marker not in seen:
        data = conn.recv(65536)
        if not data:
            break
        seen += data
    return seen


def test_a_generator_is_streamed_as_it_yields_and_closed_when_the_client_leaves(tmp_path) -> None:
    with mlk_serve("stream.py") as server:
        conn = socket.create_connection(("127.0.0.1", server.port))
        started = time.monotonic()
        conn.sendall(b"GET /score?pause=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        first = _read_until(conn, b"first ")
        heard_first = time.monotonic() - started
        whole = _read_until(conn, b"0\r\n\r\n", first)
        conn.close()
        assert heard_first < 0.8, "the first chunk waited for the whole generator"
        assert b"Transfer-Encoding: chunked" in whole and b"x-ms-run-function-failed: False" in whole
        assert whole.endswith(b"6\r\nfirst \r\n6\r\nsecond\r\n0\r\n\r\n")

        marker = tmp_path / "closed"
        conn = socket.create_connection(("127.0.0.1", server.port))
        conn.sendall(f"GET /score?pause=0.5&marker={marker} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        _read_until(conn, b"first ")
        conn.close()  # the client leaves mid-stream: the generator is closed (its finally runs)
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text() == "closed"
        assert request(server.port, "GET", "/score?pause=0").body == b"first second"  # and serving goes on
