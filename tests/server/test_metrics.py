"""/metrics over several workers: snapshots summed, a shared board between processes, a replaced worker's
counts carried on; and `mlk serve` with 3 workers, where every scrape reports every worker's requests."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from types import SimpleNamespace
from typing import Any

from mlk.http.metrics import Counter, Gauge, Histogram, Registry
from mlk.server.metrics import ServerMetrics, WorkerBoard
from tests.server.harness import SCRIPTS, Server, free_port, request

SCORED = re.compile(r'^mlk_server_requests_total\{route="/score",status="200"\} (\d+)$', re.M)


def _registry(queued: float = 0.0) -> tuple[Registry, Counter, Histogram]:
    registry = Registry()
    counter = registry.add(Counter("c_total", "C.", ("route",)))
    histogram = registry.add(Histogram("h_seconds", "H.", ("route",), buckets=(0.1, 1.0)))
    registry.add(Gauge("g", "G.", read=lambda: {(): queued}))
    return registry, counter, histogram


def test_snapshots_are_summed_counters_histograms_and_gauges_alike() -> None:
    one, c1, h1 = _registry(queued=2)
    two, c2, h2 = _registry(queued=3)
    c1.inc(("/score",))
    c1.inc(("/",), 2)
    c2.inc(("/score",), 4)
    h1.observe(("/score",), 0.05)
    h2.observe(("/score",), 0.5)
    h2.observe(("/score",), 5.0)
    text = one.render([one.snapshot(), two.snapshot()]).decode()
    assert 'c_total{route="/"} 2\nc_total{route="/score"} 5\n' in text
    assert 'h_seconds_bucket{route="/score",le="0.1"} 1\n' in text
    assert 'h_seconds_bucket{route="/score",le="1"} 2\n' in text
    assert 'h_seconds_bucket{route="/score",le="+Inf"} 3\n' in text
    assert 'h_seconds_sum{route="/score"} 5.55\nh_seconds_count{route="/score"} 3\n' in text
    assert "\ng 5\n" in text
    # one process's snapshot alone renders as its live values do
    assert one.render([one.snapshot()]) == one.render()
    # a dead process's gauges do not count; its counters and histograms do
    assert "\ng 2\n" in one.render([one.snapshot(), one.lasting(two.snapshot())]).decode()


def test_absorb_carries_counters_and_histograms_but_not_gauges() -> None:
    old, c_old, h_old = _registry(queued=7)
    c_old.inc(("/score",), 3)
    h_old.observe(("/score",), 0.5)
    new, c_new, h_new = _registry(queued=1)
    new.absorb(old.snapshot())
    c_new.inc(("/score",))
    h_new.observe(("/score",), 0.05)
    text = new.render().decode()
    assert 'c_total{route="/score"} 4\n' in text and 'h_seconds_count{route="/score"} 2\n' in text
    assert 'h_seconds_bucket{route="/score",le="0.1"} 1\n' in text and "\ng 1\n" in text


def test_render_without_snapshots_keeps_the_format() -> None:
    registry, counter, histogram = _registry()
    counter.inc(("a",))
    histogram.observe(("a",), 0.25)
    assert registry.render().decode() == (
        "# HELP c_total C.\n# TYPE c_total counter\n"
        'c_total{route="a"} 1\n'
        "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
        'h_seconds_bucket{route="a",le="0.1"} 0\n'
        'h_seconds_bucket{route="a",le="1"} 1\n'
        'h_seconds_bucket{route="a",le="+Inf"} 1\n'
        'h_seconds_sum{route="a"} 0.25\n'
        'h_seconds_count{route="a"} 1\n'
        "# HELP g G.\n# TYPE g gauge\n"
        "g 0\n"
    )


def test_board_keeps_the_latest_whole_snapshot_per_slot() -> None:
    board = WorkerBoard(2)
    assert board.read(0) is None and not board.alive(0)
    for n in range(1, 6):
        board.write(0, {"c_total": {("x",): [float(n)]}})
        assert board.read(0) == {"c_total": {("x",): [float(n)]}}
    assert board.alive(0) and board.read(1) is None
    # a torn buffer (a writer overtaking the reader) is never taken: the last whole snapshot is
    start = board._buffer(0, 5) + board.BUFFER.size
    board.memory[start] ^= 0xFF
    assert board.read(0) == {"c_total": {("x",): [5.0]}}
    board.memory[start] ^= 0xFF
    # a worker that is gone: its snapshot stays readable, its slot is no longer alive
    board.vacate(0)
    assert not board.alive(0) and board.read(0) == {"c_total": {("x",): [5.0]}}
    # a snapshot too large for a buffer is not published (the previous one stays)
    board.write(0, {"c_total": {("y" * (board.CAPACITY + 1),): [1.0]}})
    assert board.read(0) == {"c_total": {("x",): [5.0]}}


def test_board_is_shared_with_forked_processes_and_dies_with_them() -> None:
    board = WorkerBoard(3)
    pids = []
    for slot in (1, 2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            board.write(slot, {"c_total": {(): [float(slot * 10)]}})
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert [board.read(slot) for slot in range(3)] == [None, {"c_total": {(): [10.0]}}, {"c_total": {(): [20.0]}}]


def _server_metrics(queued: int = 0) -> ServerMetrics:
    runner: Any = SimpleNamespace(queued=queued, stuck=[])
    return ServerMetrics(runner)


def test_workers_render_the_sum_and_a_replacement_carries_its_predecessors_counts() -> None:
    board = WorkerBoard(2)
    first, second = _server_metrics(queued=1), _server_metrics(queued=2)
    first.share(board, 0)
    second.share(board, 1)
    for _ in range(3):
        first.observe("/score", 200, 0.01)
    second.observe("/score", 200, 0.01)
    second.publish()
    text = first.render().decode()  # first's own values are fresh; second's as last published
    assert 'mlk_server_requests_total{route="/score",status="200"} 4\n' in text
    assert "\nmlk_server_in_flight 3\n" in text
    # the second worker dies unannounced after one more request: what it published stays
    second.observe("/score", 200, 0.01)
    board.vacate(1)
    text = first.render().decode()
    assert 'mlk_server_requests_total{route="/score",status="200"} 4\n' in text
    assert "\nmlk_server_in_flight 1\n" in text
    # its replacement starts from those counts
    replacement = _server_metrics()
    replacement.share(board, 1)
    replacement.observe("/score", 500, 0.01)
    text = replacement.render().decode()
    assert 'mlk_server_requests_total{route="/score",status="200"} 4\n' in text
    assert 'mlk_server_requests_total{route="/score",status="500"} 1\n' in text
    assert 'mlk_server_request_duration_seconds_count{route="/score"} 5\n' in text
    # and what one worker rendered, the other sees too (it published before rendering)
    assert 'mlk_server_requests_total{route="/score",status="500"} 1\n' in first.render().decode()


def _scored(port: int) -> int:
    found = SCORED.search(request(port, "GET", "/metrics").body.decode())
    return int(found[1]) if found else 0


def _until_scored(port: int, total: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        seen.append(_scored(port))
        if seen[-1] == total:
            return
        time.sleep(0.05)
    raise AssertionError(f"no scrape reported {total} in {timeout} s: {seen[-20:]}")


def _score_pid(port: int) -> int:
    return int(json.loads(request(port, "POST", "/score", "pid").body)["pid"])


def test_metrics_cover_every_worker() -> None:
    port = free_port()
    command = [sys.executable, "-m", "mlk.server", "--entry_script", str(SCRIPTS / "echo.py"), "--port", str(port)]
    server = Server(command, port, {"WORKER_COUNT": "3", "MLK_HOST": "127.0.0.1", "MLK_ACCESS_LOG": "0"})
    with server:
        # fresh connections, spread by the kernel over the workers; keep going until two workers served some
        # (a quiet socket's connections may go to one worker for a while)
        served: dict[int, int] = {}
        deadline = time.monotonic() + 30
        while (sum(served.values()) < 60 or len(served) < 2) and time.monotonic() < deadline:
            pid = _score_pid(port)
            served[pid] = served.get(pid, 0) + 1
        assert len(served) >= 2, served  # no single worker holds the total: a worker's own count is not it
        total = sum(served.values())
        _until_scored(port, total)
        for _ in range(20):  # whichever worker answers, every scrape reports every worker's requests
            assert _scored(port) == total
        histogram = request(port, "GET", "/metrics").body.decode()
        assert f'mlk_server_request_duration_seconds_count{{route="/score"}} {total}\n' in histogram
        assert "\nmlk_server_in_flight 0\n" in histogram

        # a worker killed outright is replaced; its counts stay, in every scrape, before and after
        victim = max(served, key=lambda pid: served[pid])
        os.kill(victim, signal.SIGKILL)
        for _ in range(20):
            assert _scored(port) == total
            time.sleep(0.02)
        more = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the replacement serves
            more += 1
            if _score_pid(port) not in served:
                break
        else:
            raise AssertionError("the killed worker was not replaced")
        _until_scored(port, total + more)
        for _ in range(20):
            assert _scored(port) == total + more
    assert "exited with code -9; starting a new one" in server.output
