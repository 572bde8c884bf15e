"""The az ml flow on the embedded default, through the real CLI, agent, router and `mlk serve` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_mlk
from tests.local.conftest import APP, endpoint_up, mlk, score


def test_safe_rollout(home: Path) -> None:
    port, key = endpoint_up("blue")
    assert (
        json.loads(mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-r", "request.json").stdout)[
            "deployment"
        ]
        == "blue"
    )
    mlk("online-deployment", "create", "-f", "green.yml")
    pinned = json.loads(
        mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-d", "green", "-r", "request.json").stdout
    )
    assert pinned["deployment"] == "green" and pinned["model"] == ["model"]  # Azure's layout: the folder by name
    mlk("online-endpoint", "update", "-n", "test-endpoint", "--traffic", "blue=90 green=10")
    seen = [json.loads(score(port, key).body)["deployment"] for _ in range(20)]
    assert seen.count("green") == 2
    mlk("online-endpoint", "update", "-n", "test-endpoint", "--traffic", "blue=0 green=100")
    deleted = run_mlk("online-deployment", "delete", "-n", "green", "-e", "test-endpoint", "--yes")
    assert deleted.exit_code == 4 and "still gets 100% of the traffic" in deleted.stderr
    mlk("online-deployment", "delete", "-n", "blue", "-e", "test-endpoint", "--yes")
    listed = json.loads(mlk("online-deployment", "list", "-e", "test-endpoint", "-o", "json").stdout)
    assert [(d["name"], d["provisioning_state"]) for d in listed] == [("green", "Succeeded")]
    shown = json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)
    assert shown["traffic"] == {"blue": 0, "green": 100} and shown["scoring_uri"].endswith("/test-endpoint/score")
    logs = mlk("online-deployment", "get-logs", "-n", "green", "-e", "test-endpoint", "-l", "20").stdout
    assert "POST /score 200" in logs
    initializer = mlk(
        "online-deployment", "get-logs", "-n", "green", "-e", "test-endpoint", "-c", "storage-initializer"
    ).stdout
    assert "model azureml:anonymous" in initializer


def test_no_failed_request_while_traffic_shifts_and_blue_is_deleted(home: Path) -> None:
    port, key = endpoint_up("blue", "green")
    statuses: list[int] = []
    errors: list[str] = []
    running = True

    def client() -> None:
        while running:
            try:
                statuses.append(score(port, key).status)
            except OSError as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    for split in ("blue=50 green=50", "blue=0 green=100"):
        mlk("online-endpoint", "update", "-n", "test-endpoint", "--traffic", split)
        time.sleep(0.3)
    mlk("online-deployment", "delete", "-n", "blue", "-e", "test-endpoint", "--yes")
    time.sleep(0.5)
    running = False
    for t in threads:
        t.join()
    assert errors == [] and set(statuses) == {200} and len(statuses) > 50


def test_a_killed_replica_is_routed_around_and_restarted(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic", "--set", "instance_count=2")
    port = int(
        json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)["scoring_uri"]
        .split(":")[2]
        .split("/")[0]
    )
    key = json.loads(mlk("online-endpoint", "get-credentials", "-n", "test-endpoint", "-o", "json").stdout)[
        "primaryKey"
    ]
    status = json.loads((home / "workspaces/default/runtime/status.json").read_text())
    victim = status["deployments"]["test-endpoint/blue"]["replicas"][0]
    os.killpg(victim["pid"], signal.SIGKILL)
    answers = [score(port, key).status for _ in range(20)]
    assert answers == [200] * 20
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shown = json.loads(mlk("online-deployment", "show", "-n", "blue", "-e", "test-endpoint", "-o", "json").stdout)
        replica = shown["replicas"][0]
        if replica["state"] == "ready" and replica["restarts"] >= 1:
            break
        time.sleep(0.2)
    assert replica["restarts"] >= 1 and replica["state"] == "ready"


def test_init_failure_shows_the_traceback_not_a_timeout(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    failed = run_mlk(
        "online-deployment", "create", "-f", "blue.yml", "--set", "environment_variables.INIT_FAIL=1", cwd=APP
    )
    assert failed.exit_code == 6
    assert "deployment 'blue' failed: score.py could not start" in failed.stderr
    assert "RuntimeError: init failed on purpose: model file corrupted" in failed.stderr
    shown = json.loads(mlk("online-deployment", "show", "-n", "blue", "-e", "test-endpoint", "-o", "json").stdout)
    assert shown["provisioning_state"] == "Failed" and "init failed on purpose" in shown["error"]["log_tail"]
    mlk("online-deployment", "update", "-f", "blue.yml")  # fixed: the same deployment comes up
    shown = json.loads(mlk("online-deployment", "show", "-n", "blue", "-e", "test-endpoint", "-o", "json").stdout)
    assert shown["provisioning_state"] == "Succeeded"


def test_a_deployment_deleted_after_failing_leaves_nothing_to_its_successor(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    failing = ("--set", "environment_variables.INIT_FAIL=1")
    assert run_mlk("online-deployment", "create", "-f", "blue.yml", *failing, cwd=APP).exit_code == 6
    mlk("online-deployment", "delete", "-n", "blue", "--endpoint", "test-endpoint", "--yes")  # az's short form
    mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic")  # fixed and created anew: it comes up
    invoke = (
        "online-endpoint",
        "invoke",
        "-o",
        "tsv",
        "-n",
        "test-endpoint",
        "--deployment",
        "blue",
        "-r",
        "request.json",
    )
    answer = json.loads(mlk(*invoke).stdout)
    assert answer["deployment"] == "blue"
    logs = mlk("online-deployment", "get-logs", "-n", "blue", "-e", "test-endpoint").stdout
    assert "init failed on purpose" not in logs  # the failed one's output went with it


def _slow_create_of_blue(output: int) -> subprocess.Popen[bytes]:
    """`online-deployment create` of blue in a process of its own, its init() taking 3 s."""
    command = ["online-deployment", "create", "-f", "blue.yml", "--set", "environment_variables.INIT_SLEEP=3"]
    return subprocess.Popen([sys.executable, "-m", "mlk", *command], cwd=APP, stdout=output, stderr=output)


def _wait_for_state(home: Path, text: str) -> None:
    state_file = home / "workspaces/default/state.json"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and text not in (state_file.read_text() if state_file.exists() else ""):
        time.sleep(0.05)


def test_two_operations_on_one_endpoint_conflict(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    first = _slow_create_of_blue(subprocess.PIPE)
    _wait_for_state(home, '"operation": {')
    second = run_mlk("online-deployment", "create", "-f", "green.yml", cwd=APP)
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert second.exit_code == 4 and "another operation is in progress on endpoint 'test-endpoint'" in second.stderr


def test_a_killed_command_leaves_a_state_that_show_explains_and_the_next_command_repairs(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    doomed = _slow_create_of_blue(subprocess.DEVNULL)
    _wait_for_state(home, '"blue"')
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    shown = json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)
    assert shown["provisioning_state"] == "Failed" and "stopped before it finished" in shown["error"]
    mlk("online-deployment", "update", "-f", "blue.yml")  # takes over the stale operation and finishes the job
    assert (
        json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)["provisioning_state"]
        == "Succeeded"
    )


def test_endpoints_come_back_after_the_agent_and_replicas_die(home: Path) -> None:
    port, key = endpoint_up("blue")
    status = json.loads((home / "workspaces/default/runtime/status.json").read_text())
    for replica in status["deployments"]["test-endpoint/blue"]["replicas"]:
        os.killpg(replica["pid"], signal.SIGKILL)
    os.killpg(status["agent"]["pid"], signal.SIGKILL)  # as after a reboot
    with pytest.raises(OSError):
        score(port, key, timeout=2)
    answer = json.loads(
        mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-r", "request.json").stdout
    )
    assert answer["deployment"] == "blue"  # the next command started the agent, which restarted the replica


def test_keys_are_private_and_regenerated_without_restart(home: Path) -> None:
    port, key = endpoint_up("blue")
    keys_file = home / "workspaces/default/keys/test-endpoint.json"
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"
    creds = json.loads(mlk("online-endpoint", "get-credentials", "-n", "test-endpoint", "-o", "json").stdout)
    assert score(port, creds["secondaryKey"]).status == 200
    mlk("online-endpoint", "regenerate-keys", "-n", "test-endpoint", "--key-type", "secondary")
    deadline = time.monotonic() + 5
    while score(port, creds["secondaryKey"]).status != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert score(port, creds["secondaryKey"]).status == 401
    fresh = json.loads(mlk("online-endpoint", "get-credentials", "-n", "test-endpoint", "-o", "json").stdout)
    assert score(port, fresh["secondaryKey"]).status == 200 and score(port, key).status == 200
    assert key not in (home / "workspaces/default/runtime/agent.log").read_text()


def test_aml_token_endpoints(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml", "--auth-mode", "aml_token")
    mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic")
    creds = json.loads(mlk("online-endpoint", "get-credentials", "-n", "test-endpoint", "-o", "json").stdout)
    assert set(creds) == {"accessToken", "tokenType", "expiryTimeUtc", "refreshAfterTimeUtc"}
    shown = json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)
    port = int(shown["scoring_uri"].split(":")[2].split("/")[0])
    assert score(port, creds["accessToken"]).status == 200
    assert score(port, creds["accessToken"] + "x").status == 401
    mlk("online-endpoint", "update", "-n", "test-endpoint", "--set", "description=tokens only")  # --set alone
    shown = json.loads(mlk("online-endpoint", "show", "-n", "test-endpoint", "-o", "json").stdout)
    assert shown["description"] == "tokens only" and shown["auth_mode"] == "aml_token"
    refused = run_mlk("online-endpoint", "update", "-n", "test-endpoint", "--set", "auth_mode=key")
    assert refused.exit_code == 2 and "only description, tags, traffic and mirror_traffic can change" in refused.stderr


def test_model_and_environment_assets(home: Path) -> None:
    first = json.loads(mlk("model", "create", "-n", "weights", "-p", "model", "-o", "json").stdout)
    again = run_mlk("model", "create", "-n", "weights", "-p", "model", "-o", "json", cwd=APP)
    assert json.loads(again.stdout)["version"] == first["version"] == "1"
    assert "0 bytes uploaded" in again.stderr
    (APP / "model" / "extra.txt").write_text("more")
    try:
        assert json.loads(mlk("model", "create", "-n", "weights", "-p", "model", "-o", "json").stdout)["version"] == "2"
    finally:
        (APP / "model" / "extra.txt").unlink()
    listed = json.loads(mlk("model", "list", "-n", "weights", "-o", "json").stdout)
    assert [m["version"] for m in listed] == ["1", "2"]
    one = json.loads(mlk("environment", "create", "-n", "env-a", "--image", "python:3.11", "-o", "json").stdout)
    two = json.loads(mlk("environment", "create", "-n", "env-b", "--image", "python:3.11", "-o", "json").stdout)
    assert one["identity"] == two["identity"]  # name and version are not part of an environment's identity
    missing = run_mlk("online-deployment", "create", "-f", "blue.yml", "--set", 'model="azureml:nope:1"', cwd=APP)
    assert missing.exit_code in (2, 3)


def test_a_python_older_than_the_server_needs_is_refused_before_any_upload(home: Path) -> None:
    mlk("online-endpoint", "create", "-f", "endpoint.yml")
    conda = home / "old-python.yml"
    conda.write_text("dependencies:\n  - python=3.7\n  - pip:\n    - numpy\n")
    refused = run_mlk(
        "online-deployment", "create", "-f", "blue.yml", "--set", f"environment.conda_file={conda}", cwd=APP
    )
    assert (
        refused.exit_code == 2 and "asks for Python 3.7" in refused.stderr and "MLK_LOCAL_PYTHON=3.11" in refused.stderr
    )
    assert json.loads(mlk("model", "list", "-o", "json").stdout) == []  # nothing was uploaded
