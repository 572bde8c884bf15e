"""How a job's processes are counted, ranked and named, whatever the distribution."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlk.local.jobprocs import layout, log_name, rank_environments


def _job(instances: int, distribution: dict[str, Any] | None) -> Any:
    return {"name": "j", "experiment_name": "e", "instance_count": instances, "distribution": distribution}


@pytest.mark.parametrize(
    ("instances", "distribution", "processes"),
    [
        (1, None, 1),
        (3, None, 3),
        (2, {"type": "pytorch", "process_count_per_instance": 4}, 8),
        (2, {"type": "mpi", "process_count_per_instance": 2}, 4),
        (2, {"type": "tensorflow", "worker_count": 3}, 3),
        (2, {"type": "PyTorch"}, 2),
    ],
)
def test_process_counts(instances: int, distribution: dict[str, Any] | None, processes: int) -> None:
    assert layout(_job(instances, distribution)).processes == processes


def test_torchrun_variables_rank_each_process() -> None:
    job = _job(2, {"type": "pytorch", "process_count_per_instance": 2})
    envs = rank_environments(job, layout(job))
    assert [(e["RANK"], e["LOCAL_RANK"], e["NODE_RANK"]) for e in envs] == [
        ("0", "0", "0"),
        ("1", "1", "0"),
        ("2", "0", "1"),
        ("3", "1", "1"),
    ]
    assert {e["WORLD_SIZE"] for e in envs} == {"4"} and len({e["MASTER_PORT"] for e in envs}) == 1
    assert envs[0]["AZUREML_RUN_ID"] == "j"


def test_mpi_and_tensorflow_get_their_own_variables() -> None:
    mpi = _job(2, {"type": "mpi", "process_count_per_instance": 1})
    assert rank_environments(mpi, layout(mpi))[1]["OMPI_COMM_WORLD_RANK"] == "1"
    tf = _job(1, {"type": "tensorflow", "worker_count": 2})
    config = json.loads(rank_environments(tf, layout(tf))[1]["TF_CONFIG"])
    assert config["task"] == {"type": "worker", "index": 1} and len(config["cluster"]["worker"]) == 2


def test_log_names_are_azures() -> None:
    assert log_name(0, 1) == "std_log.txt"
    assert log_name(3, 4) == "std_log_process_3.txt"
