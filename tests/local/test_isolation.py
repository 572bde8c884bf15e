"""The embedded default on a machine shared with other users, and with an agent that dies badly: replicas
die with their agent, see only their own environment, and answer their router only."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlk.errors import ExternalError
from mlk.local import control, logfiles
from mlk.local.supervisor import kill_leftovers
from mlk.workspace.home import open_workspace
from tests.local.conftest import endpoint_up, mlk, score
from tests.server.harness import request

SECRET = "DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0"


def _status(home: Path) -> dict:
    return json.loads((home / "workspaces/default/runtime/status.json").read_text())


def _replica_pids(home: Path) -> list[int]:
    return [r["pid"] for r in _status(home)["deployments"]["test-endpoint/blue"]["replicas"] if r.get("pid")]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _servers_under(home: Path) -> set[int]:
    """Process groups of mlk.server processes working in this home (the replicas, whoever started them)."""
    groups = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
            if b"mlk.server" in cmdline and cwd.startswith(str(home)) and _running(int(entry.name)):
                groups.add(os.getpgid(int(entry.name)))
        except (OSError, ProcessLookupError):
            continue
    return groups


def test_replicas_die_with_their_agent_and_the_next_agent_starts_one_set(home: Path) -> None:
    port, key = endpoint_up("blue")
    pids = _replica_pids(home)
    assert pids and len(_servers_under(home)) == 1
    os.kill(_status(home)["agent"]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in pids), "a replica outlived its agent"
    with pytest.raises(OSError):
        score(port, key, timeout=2)
    answer = json.loads(
        mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-r", "request.json").stdout
    )
    assert answer["deployment"] == "blue"
    assert len(_servers_under(home)) == 1  # one set of replicas, not a second beside survivors


def test_process_groups_an_earlier_agent_recorded_are_killed(tmp_path: Path) -> None:
    record = tmp_path / "replicas.json"
    leftover = subprocess.Popen(["sleep", "600"], start_new_session=True)
    stranger = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        started = int(Path(f"/proc/{leftover.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        # The stranger's pid is recorded with another start time: a reused pid, not ours to kill.
        record.write_text(json.dumps({str(leftover.pid): started, str(stranger.pid): started - 1}))
        assert kill_leftovers(record) == 1
        assert leftover.wait(5) == -signal.SIGKILL
        assert stranger.poll() is None
        assert json.loads(record.read_text()) == {}
        record.write_text("{not json")
        assert kill_leftovers(record) == 0  # unreadable: nothing to act on, and no crash
    finally:
        for process in (leftover, stranger):
            process.kill()
            process.wait()


def test_an_unreadable_state_file_is_retried_and_reported_not_fatal(home: Path) -> None:
    port, key = endpoint_up("blue")
    ws = open_workspace("default")
    good = ws.state_file.read_bytes()
    ws.state_file.write_text("{ half written")
    moment = time.time()
    with pytest.raises(ExternalError, match="cannot apply the change: JSONDecodeError"):
        control.wait_until(ws, lambda s: (s.get("agent") or {}).get("reconciled", 0) >= moment, 20, "the change")
    assert control.agent_pid(ws) is not None  # alive and beating
    assert score(port, key).status == 200  # what ran goes on running
    ws.state_file.write_bytes(good)
    control.reconciled_since(ws, time.time())
    assert _status(home)["agent"]["error"] is None


def test_replicas_see_only_their_own_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", SECRET)
    monkeypatch.setenv("LC_TIME", "C")
    port, key = endpoint_up("blue")
    seen = json.loads(score(port, key, body='{"environment": true}').body)["environment"]
    assert "AZURE_STORAGE_CONNECTION_STRING" not in seen and "MLK_HOME" not in seen
    assert {"DEPLOYMENT_TAG", "AZUREML_MODEL_DIR", "PATH", "LC_TIME"} <= set(seen)
    assert "MLK_REPLICA_TOKEN" not in seen  # the server keeps it from score.py
    for pid in _replica_pids(home):
        assert SECRET.encode() not in Path(f"/proc/{pid}/environ").read_bytes()


def test_only_the_router_reaches_a_replica(home: Path) -> None:
    port, key = endpoint_up("blue")
    replica = _status(home)["deployments"]["test-endpoint/blue"]["replicas"][0]["port"]
    direct = request(replica, "POST", "/score", "{}", {"Content-Type": "application/json"})
    assert direct.status == 401
    assert request(replica, "GET", "/").status == 401
    forged = request(replica, "POST", "/score", "{}", {"x-mlk-replica-token": "guess"})
    assert forged.status == 401
    assert score(port, key).status == 200
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv:  # another local user: nothing to read the token from, no way in
        for pid in _replica_pids(home):
            other = subprocess.run(
                [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "cat", f"/proc/{pid}/environ"],
                capture_output=True,
                check=False,
            )
            assert other.returncode != 0
        code = (
            "import sys, http.client as h; c = h.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=5); "
            "c.request('POST', '/score', '{}'); print(c.getresponse().status)"
        )
        other = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code, str(replica)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert other.stdout.strip() == "401", other.stderr


def test_logs_are_private_capped_and_rotated(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "inference-server-0.log"
    log = logfiles.RotatingLog(path, max_bytes=1000, keep=2)
    for i in range(100):
        log.write(b"line %03d %s\n" % (i, b"x" * 40))
    log.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["inference-server-0.log", "inference-server-0.log.1", "inference-server-0.log.2"]
    assert all((path.parent / f).stat().st_size <= 1000 for f in files)
    assert all((path.parent / f).stat().st_mode & 0o077 == 0 for f in files)
    assert path.parent.stat().st_mode & 0o077 == 0
    shown = logfiles.tail(path, 30).splitlines()
    assert len(shown) == 30 and shown[-1].startswith("line 099") and shown[0].startswith("line 070")


def test_workers_die_with_their_master(tmp_path: Path) -> None:
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlk.server", "--entry_script", str(script), "--port", "0", "--worker_count", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
            workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
            time.sleep(0.1)
        assert len(workers) == 2
        server.send_signal(signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(pid) for pid in workers)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
