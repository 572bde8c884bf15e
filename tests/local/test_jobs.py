"""Training on this machine, end to end with the real parts: the job runner, uv-built environments, MLflow's
own tracking server (metrics, params, logged models), then the trained model registered from the job's
output and deployed without a scoring script — the loop a data scientist runs with az ml.

One MLK_HOME for the module: the tracking server and the environments are built once, as for a user.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlk.lifetime import running
from tests.conftest import REPO, Result, run_mlk

pytestmark = pytest.mark.slow
TRAINING = REPO / "examples/training"
HERE = Path(__file__).resolve().parent / "training"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("jobs") / "mlk-home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLK_HOME", str(folder))
        patch.delenv("MLK_WORKSPACE", raising=False)
        yield folder
        run_mlk("online-endpoint", "delete", "-n", "iris-endpoint", "--yes")
        from mlk.local import tracking
        from mlk.workspace.home import open_workspace

        tracking.stop(open_workspace("default", create=False))


def mlk(*args: str, cwd: Path = HERE, code: int = 0) -> Result:
    result = run_mlk(*args, cwd=cwd)
    assert result.exit_code == code, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def show(name: str) -> dict:
    return json.loads(mlk("job", "show", "-n", name, "-o", "json").stdout)


def wait_for(name: str, statuses: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = show(name)
        if shown["status"] in statuses:
            return shown
        time.sleep(0.3)
    raise AssertionError(f"job {name} never reached {statuses}: {shown}")


def test_train_register_deploy(home: Path, tmp_path: Path) -> None:
    created = mlk("job", "create", "-f", "job.yml", "-n", "iris-train", "--stream", "-o", "json", cwd=TRAINING)
    assert json.loads(created.stdout)["status"] == "Completed", created.stderr
    assert "accuracy:" in created.stderr  # --stream printed the training script's output
    shown = show("iris-train")
    assert shown["metrics"]["accuracy"] > 0.9
    assert shown["params"] == {"C": "0.8"}
    assert shown["outputs"]["model"]["path"] == "azureml://jobs/iris-train/outputs/model"
    assert mlk("job", "show", "-n", "iris-train", "--query", "status", "-o", "tsv").stdout.strip() == "Completed"

    mlk("job", "download", "-n", "iris-train", "--all", "--download-path", str(tmp_path))
    assert (tmp_path / "named-outputs/model/MLmodel").is_file()
    assert (tmp_path / "artifacts/model/MLmodel").is_file()  # what mlflow.sklearn.log_model logged
    assert "accuracy" in (tmp_path / "artifacts/user_logs/std_log.txt").read_text()

    path = "azureml://jobs/iris-train/outputs/artifacts/paths/model/"
    registered = mlk("model", "create", "-n", "iris", "--path", path, "--type", "mlflow_model", "-o", "json")
    assert json.loads(registered.stdout)["type"] == "mlflow_model"
    from_output = mlk("model", "create", "-n", "iris-out", "--path", "azureml://jobs/iris-train/outputs/model")
    assert "azureml:iris-out:1" in from_output.stderr

    mlk("online-endpoint", "create", "-f", "endpoint.yml", cwd=TRAINING)
    mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic", cwd=TRAINING)
    answer = mlk(
        "online-endpoint", "invoke", "-n", "iris-endpoint", "-r", "sample-request.json", "-o", "tsv", cwd=TRAINING
    )
    assert json.loads(answer.stdout) == ["setosa", "virginica"]


def test_distributed_ranks_meet(home: Path) -> None:
    mlk("job", "create", "-f", "distributed.yml", "-n", "ranks", "--stream")
    shown = show("ranks")
    assert shown["status"] == "Completed", shown
    folder = home / "workspaces/default/jobs/ranks/user_logs"
    assert sorted(p.name for p in folder.iterdir()) == [f"std_log_process_{rank}.txt" for rank in range(4)]
    assert "rank 3 of 4, node 1, local rank 1" in (folder / "std_log_process_3.txt").read_text()
    out = home / "result"
    mlk("job", "download", "-n", "ranks", "--output-name", "result", "--download-path", str(out))
    world = json.loads((out / "named-outputs/result/world.json").read_text())
    assert world == {"world": 4, "nodes": {"0": "0", "1": "0", "2": "1", "3": "1"}}


def test_inputs_literals_and_data_assets(home: Path, tmp_path: Path) -> None:
    mlk("data", "create", "-n", "iris-table", "--path", str(TRAINING / "data/iris.csv"), "--type", "uri_file")
    listed = json.loads(mlk("data", "list", "-o", "json").stdout)
    assert [(d["name"], d["version"], d["type"]) for d in listed] == [("iris-table", "1", "uri_file")]
    mlk("job", "create", "-f", "inputs.yml", "-n", "inputs", "--stream")
    mlk("job", "download", "-n", "inputs", "--output-name", "copy", "--download-path", str(tmp_path))
    got = tmp_path / "named-outputs/copy"
    assert (got / "table.csv").read_text() == (TRAINING / "data/iris.csv").read_text()
    assert "rendezvous.py" in (got / "listing.txt").read_text()
    assert (got / "literals.txt").read_text().strip() == "0.5 True hello"


def test_inputs_from_the_workspace_datastore(home: Path, tmp_path: Path) -> None:
    """Files put in the workspace's storage folder are job inputs through Azure's datastore paths."""
    storage = home / "workspaces/default/storage/datasets/iris"
    (storage / "more").mkdir(parents=True)
    (storage / "iris.csv").write_text((TRAINING / "data/iris.csv").read_text())
    (storage / "more/notes.txt").write_text("n\n")
    datastore = "azureml://datastores/workspaceblobstore/paths/datasets/iris"
    paths = ["--set", f"inputs.table.path={datastore}/iris.csv", "--set", f"inputs.folder.path={datastore}/"]
    mlk("job", "create", "-f", "inputs.yml", "-n", "from-datastore", "--stream", *paths)
    mlk("job", "download", "-n", "from-datastore", "--output-name", "copy", "--download-path", str(tmp_path))
    got = tmp_path / "named-outputs/copy"
    assert (got / "table.csv").read_text() == (TRAINING / "data/iris.csv").read_text()
    assert (got / "listing.txt").read_text().split() == ["iris.csv", "more"]


def test_failure_carries_the_last_lines(home: Path) -> None:
    streamed = mlk("job", "create", "-f", "failing.yml", "-n", "fails", "--stream", code=6)
    assert "exited with code 3" in streamed.stderr and "the reason" in streamed.stderr
    shown = show("fails")
    assert shown["status"] == "Failed" and "the reason" in shown["error"]["message"]
    outputs = mlk("job", "download", "-n", "fails", "--download-path", str(home / "fails"))
    assert "artifacts" in outputs.stderr  # what existed is uploaded on failure too


def test_timeout_and_cancel_end_the_processes(home: Path) -> None:
    mlk("job", "create", "-f", "sleeper.yml", "-n", "timed", "--set", "limits.timeout=2", "--stream", code=6)
    assert "limits.timeout" in show("timed")["error"]["message"]

    mlk("job", "create", "-f", "sleeper.yml", "-n", "sleeper")
    wait_for("sleeper", ("Running",))
    status = json.loads((home / "workspaces/default/jobs/sleeper/status.json").read_text())
    runner = status["runner"]
    assert mlk("job", "cancel", "-n", "sleeper", "--query", "status", "-o", "tsv").stdout.strip() == "Canceled"
    deadline = time.monotonic() + 10
    while running(runner["pid"], runner["started"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(runner["pid"], runner["started"])
    assert "sleep 600" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout


def test_a_vanished_runner_fails_the_job(home: Path) -> None:
    mlk("job", "create", "-f", "sleeper.yml", "-n", "orphaned")
    wait_for("orphaned", ("Running",))
    status = json.loads((home / "workspaces/default/jobs/orphaned/status.json").read_text())
    os.kill(status["runner"]["pid"], signal.SIGKILL)  # as a reboot would
    shown = wait_for("orphaned", ("Failed",), timeout=10)
    assert "runner stopped" in shown["error"]["message"]
    assert "sleep 600" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout


def test_list_and_refusals(home: Path, tmp_path: Path) -> None:
    rows = json.loads(mlk("job", "list", "-o", "json").stdout)
    assert {"iris-train", "ranks"} <= {r["name"] for r in rows}
    assert mlk("job", "show", "-n", "nope", code=3).stderr.startswith("ERROR: job 'nope' not found")
    sweep = tmp_path / "sweep.yml"
    sweep.write_text("$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json\ntype: sweep\n")
    refused = mlk("job", "create", "-f", str(sweep), code=2)
    assert "sweep jobs are not supported" in refused.stderr
    again = mlk("job", "create", "-f", "failing.yml", "-n", "fails", code=4)
    assert "already exists" in again.stderr
