"""max_concurrent_requests_per_instance stays exact with several routers in front of one replica.

Three router processes share one real `mlk serve` replica (run() on 8 threads, so nothing but admission
limits the overlap). Each router alone would send up to the limit; together they would send three times
as much. The replica's admission (mlk.http.admission) refuses the excess with x-mlk-busy and the routers
send it again, so every request succeeds and run() never overlaps more than the limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.conftest import wait_http
from tests.router.fakes import KEY, endpoint

SCRIPTS = Path(__file__).parent / "scripts"
LIMIT = 2
pytestmark = pytest.mark.slow


def _free_port() -> int:
    from mlk.http.serve import bind

    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _post(port: int) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/endpoint/shared-ep/score",
        data=b'{"data": 1}',
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_three_routers_keep_the_per_replica_limit(tmp_path: Path) -> None:
    server_port = _free_port()
    env = {**os.environ, "MLK_RUN_CONCURRENCY": "8", "AZUREML_ENTRY_SCRIPT": "overlap.py", "AML_APP_ROOT": str(SCRIPTS)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlk.server", "--port", str(server_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        wait_http(f"http://127.0.0.1:{server_port}/", procs[0])
        settings = {"max_concurrent_requests_per_instance": LIMIT, "max_queue_wait_ms": 20000}
        config = endpoint(
            "shared-ep", blue={"replicas": [f"http://127.0.0.1:{server_port}"], "traffic": 100, "settings": settings}
        )
        config_file = tmp_path / "router.yml"
        config_file.write_text(yaml.safe_dump({"endpoints": [config]}))
        router_ports = [_free_port() for _ in range(3)]
        for port in router_ports:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "mlk", "router", "--config", str(config_file), "--port", str(port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port, proc in zip(router_ports, procs[1:], strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)

        def client(index: int) -> list[tuple[int, dict[str, object]]]:  # 3 clients per router: under its cap
            return [_post(router_ports[index % 3]) for _ in range(10)]

        with ThreadPoolExecutor(9) as pool:
            results = [result for batch in pool.map(client, range(9)) for result in batch]

        statuses = [status for status, _ in results]
        assert statuses.count(200) == len(results), sorted(set(map(str, results)))
        assert max(int(body["most"]) for _, body in results) == LIMIT  # reached, never exceeded
        refused = sum(_metric(port, "mlk_router_replica_busy_total") for port in router_ports)
        assert refused > 0  # the routers did contend: the limit held because the replica refused the excess
        assert _metric(server_port, "mlk_server_admission_refused_total") == refused
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
