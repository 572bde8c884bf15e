"""Starting a job's processes on this machine, with the environment a distributed launcher gives them.

Azure starts `instance_count × process_count_per_instance` processes for a pytorch or mpi job (torchrun's
and Open MPI's variables), `worker_count` for tensorflow (TF_CONFIG), else one per instance. On this
machine the instances are simulated: every process runs here, NODE_RANK says which instance it stands for,
and they meet at 127.0.0.1:MASTER_PORT. Each process writes to its own log under Azure's name.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mlk.lifetime import die_with_parent
from mlk.workspace.jobrecords import Prepared

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class Layout:
    """How many processes and how they are ranked."""

    kind: str
    """pytorch, mpi, tensorflow, or `none`."""
    processes: int
    per_instance: int


def layout(job: Prepared) -> Layout:
    distribution = job["distribution"] or {}
    kind = str(distribution.get("type", "none")).lower()
    instances = job["instance_count"]
    if kind == "tensorflow":
        workers = int(distribution.get("worker_count") or instances)
        return Layout(kind, workers, max(1, workers // instances))
    per_instance = int(distribution.get("process_count_per_instance") or 1) if kind in ("pytorch", "mpi") else 1
    return Layout(kind, instances * per_instance, per_instance)


def log_name(rank: int, processes: int) -> str:
    """Azure's user log names: one process writes std_log.txt, several std_log_process_<rank>.txt."""
    return "std_log.txt" if processes == 1 else f"std_log_process_{rank}.txt"


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 now (each chosen by the kernel)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind((LOCALHOST, 0))
        return [int(each.getsockname()[1]) for each in sockets]
    finally:
        for each in sockets:
            each.close()


def rank_environments(job: Prepared, shape: Layout) -> list[dict[str, str]]:
    """The variables that tell each process who it is (the same names the cluster's pods get)."""
    ports = free_ports(1 + (shape.processes if shape.kind == "tensorflow" else 0))
    out = []
    for rank in range(shape.processes):
        env = {
            "AZUREML_RUN_ID": job["name"],
            "AZUREML_EXPERIMENT_NAME": job["experiment_name"],
            "MASTER_ADDR": LOCALHOST,
            "MASTER_PORT": str(ports[0]),
            "WORLD_SIZE": str(shape.processes),
            "RANK": str(rank),
            "LOCAL_RANK": str(rank % shape.per_instance),
            "LOCAL_WORLD_SIZE": str(shape.per_instance),
            "NODE_RANK": str(rank // shape.per_instance),
            "GROUP_RANK": str(rank // shape.per_instance),
        }
        if shape.kind == "mpi":
            env |= {
                "OMPI_COMM_WORLD_RANK": str(rank),
                "OMPI_COMM_WORLD_SIZE": str(shape.processes),
                "OMPI_COMM_WORLD_LOCAL_RANK": str(rank % shape.per_instance),
                "OMPI_COMM_WORLD_LOCAL_SIZE": str(shape.per_instance),
                "OMPI_COMM_WORLD_NODE_RANK": str(rank // shape.per_instance),
            }
        if shape.kind == "tensorflow":
            workers = [f"{LOCALHOST}:{port}" for port in ports[1:]]
            env["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank}})
        out.append(env)
    return out


def start(
    command: str, cwd: Path, base_env: Mapping[str, str], ranks: list[dict[str, str]], logs: Path
) -> list[tuple[subprocess.Popen[Any], IO[bytes]]]:
    """One shell per rank running `command`, each the leader of its own process group (so cancelling
    kills what it started too) and killed if the runner dies."""
    started: list[tuple[subprocess.Popen[Any], IO[bytes]]] = []
    for rank, env in enumerate(ranks):
        log = (logs / log_name(rank, len(ranks))).open("ab")
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env={**base_env, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=die_with_parent,  # noqa: PLW1509
        )
        started.append((process, log))
    return started


def process_env(venv_bin: Path | None, job: Prepared, extra: Mapping[str, str]) -> dict[str, str]:
    """mlk's own environment, the job's Python first on PATH, then the job's variables (which win)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLK_", "VIRTUAL_ENV", "PYTHONHOME"))}
    if venv_bin is not None:
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv_bin.parent)
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **extra, **job["environment_variables"]}
