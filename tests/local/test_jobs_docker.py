"""Training on the Docker runtime of this machine: each rank is a container of the environment's image on
the host's network, run as the user, its output in the rank's log; the ranks rendezvous, rank 0's output is
uploaded, and a canceled job leaves no container behind."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run_mlk

pytestmark = [pytest.mark.docker, pytest.mark.slow]
HERE = Path(__file__).resolve().parent / "training"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Iterator[Path]:
    """A workspace on the Docker runtime, and job files whose environment is the local base image."""
    root = tmp_path_factory.mktemp("docker-jobs")
    shutil.copy(HERE / "rendezvous.py", root / "rendezvous.py")
    (root / "ranks.yml").write_text(
        "command: python3 rendezvous.py ${{outputs.result}} && mkdir -p outputs && id -u > outputs/uid.txt\n"
        "code: .\n"
        f"environment:\n  image: {base_image}\n"
        "outputs:\n  result:\n    type: uri_folder\n"
        "resources:\n  instance_count: 2\n"
        "distribution:\n  type: pytorch\n  process_count_per_instance: 2\n"
    )
    (root / "sleeper.yml").write_text(f"command: echo started; sleep 600\nenvironment:\n  image: {base_image}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLK_HOME", str(root / "mlk-home"))
        patch.delenv("MLK_WORKSPACE", raising=False)
        assert run_mlk("workspace", "update", "--local-runtime", "docker").exit_code == 0
        yield root
        from mlk.local import tracking
        from mlk.workspace.home import open_workspace

        tracking.stop(open_workspace("default", create=False))


def mlk(project: Path, *args: str, code: int = 0) -> Result:
    result = run_mlk(*args, cwd=project)
    assert result.exit_code == code, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def _containers(engine: Any, job: str) -> list[Any]:
    return engine.client.containers.list(all=True, filters={"label": f"mlk.job={job}"})


def test_ranks_run_as_containers_and_meet(project: Path, docker_engine: Any, tmp_path: Path) -> None:
    mlk(project, "job", "create", "-f", "ranks.yml", "-n", "docker_ranks", "--stream")
    shown = json.loads(mlk(project, "job", "show", "-n", "docker_ranks", "-o", "json").stdout)
    assert shown["status"] == "Completed", shown
    mlk(project, "job", "download", "-n", "docker_ranks", "--all", "--download-path", str(tmp_path))
    world = json.loads((tmp_path / "named-outputs/result/world.json").read_text())
    assert world == {"world": 4, "nodes": {"0": "0", "1": "0", "2": "1", "3": "1"}}
    assert (tmp_path / "artifacts/outputs/uid.txt").read_text().strip() == str(os.getuid())  # the user's, not root's
    logs = sorted(p.name for p in (tmp_path / "artifacts/user_logs").iterdir())
    assert logs == [f"std_log_process_{n}.txt" for n in range(4)]
    assert "rank 3 of 4, node 1" in (tmp_path / "artifacts/user_logs/std_log_process_3.txt").read_text()
    assert _containers(docker_engine, "docker_ranks") == []  # removed once ended


def test_cancel_stops_and_removes_the_containers(project: Path, docker_engine: Any) -> None:
    mlk(project, "job", "create", "-f", "sleeper.yml", "-n", "docker_sleeper")
    import time

    deadline = time.monotonic() + 120
    while not any(c.status == "running" for c in _containers(docker_engine, "docker_sleeper")):
        assert time.monotonic() < deadline, mlk(project, "job", "show", "-n", "docker_sleeper").stdout
        time.sleep(0.3)
    assert mlk(project, "job", "cancel", "-n", "docker_sleeper", "--query", "status", "-o", "tsv").stdout.strip() == (
        "Canceled"
    )
    assert _containers(docker_engine, "docker_sleeper") == []
