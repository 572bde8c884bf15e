"""A command job on the Docker runtime of this machine (`workspace update --local-runtime docker`): the
environment's image is resolved when the job is created (built from its conda file as a deployment's is,
or used as it is), and the runner starts one container per rank (mlk.images.ranks) instead of a process.

What a container gets is what a pod's training container gets, never this machine's environment: the
ranks' variables, the MLflow run's, the job's own, and the job's folders (its working folder, outputs and
the inputs in the workspace's cache) bound at the paths the command was bound with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from mlk.workspace.home import Workspace
from mlk.workspace.jobrecords import Prepared
from mlk.workspace.jobs import Say

DOCKER = "docker"
DEFAULT_SHM = "2g"
"""Azure's default resources.shm_size."""
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def runtime(ws: Workspace) -> str:
    """The workspace's local runtime: process (the default) or docker."""
    return str(ws.config.get("runtime") or "process")


def job_image(ws: Workspace, job: Mapping[str, Any], say: Say) -> str:
    """The image the job's containers run: the environment's, built or pulled now (`job create` shows it)."""
    from mlk.local.docker_prepare import environment_image

    return environment_image(ws, job["environment"], say, None)


def container_env(job: Prepared, rank: Mapping[str, str], tracking: Mapping[str, str]) -> dict[str, str]:
    return {"PYTHONUNBUFFERED": "1", "HOME": "/tmp", **rank, **tracking, **job["environment_variables"]}


def start(
    ws: Workspace,
    job: Prepared,
    command: str,
    workdir: Path,
    folders: Sequence[Path],
    ranks: list[dict[str, str]],
    tracking: Mapping[str, str],
    logs: Sequence[IO[bytes]],
) -> list[Any]:
    """One container per rank, started (mlk.images.ranks.ContainerRank: polled as a process)."""
    from mlk.images.engine import Engine
    from mlk.images.ranks import LABEL_JOB, LABEL_WORKSPACE, start_rank

    engine = Engine.connect()
    labels = {LABEL_WORKSPACE: ws.name, LABEL_JOB: job["name"]}
    shm = str(job["shm_size"] or DEFAULT_SHM)  # Azure writes Docker's units (2g): given to Docker as they are
    started = []
    for index, (rank, log) in enumerate(zip(ranks, logs, strict=True)):
        name = _NAME_UNSAFE.sub("-", f"mlk-{ws.name}-job-{job['name']}-{index}")
        started.append(
            start_rank(
                engine,
                str(job.get("image")),
                command,
                name=name,
                env=container_env(job, rank, tracking),
                folders=folders,
                workdir=workdir,
                labels=labels,
                log=log,
                shm_size=shm,
            )
        )
    return started


def remove_leftovers(ws: Workspace, job: str) -> None:
    """What a job's vanished runner left running."""
    from mlk.images.engine import engine
    from mlk.images.ranks import remove_job_containers

    with engine() as docker:
        remove_job_containers(docker, ws.name, job)
