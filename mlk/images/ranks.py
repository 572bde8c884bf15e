"""A command job's process as a container of the Docker runtime, seen by the job's runner as a process.

Each rank is one container of the environment's image on the host's network (ranks meet at 127.0.0.1, as
processes do; the tracking server's 127.0.0.1 address answers too), running the bound command with `sh -c`
as the user who runs mlk (its outputs stay theirs), the job's folders bound at the same paths, so the
command's paths mean the same inside. Its output is copied to the rank's log file as it comes. Containers
carry `mlk.workspace` and `mlk.job` labels: whoever finds a job's runner gone removes what it left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from mlk.images.engine import Engine

LABEL_WORKSPACE, LABEL_JOB = "mlk.workspace", "mlk.job"
STOPPED = ("exited", "dead")
LOST = 137
"""The exit code of a container that vanished under the runner (removed by hand): as if killed."""


class ContainerRank:
    """`poll`, `wait` and `send_signal` as subprocess.Popen has them, for one rank's container."""

    def __init__(self, container: Any, log: IO[bytes]) -> None:
        self.container = container
        self.returncode: int | None = None
        self.name = str(container.name)
        self._copier = threading.Thread(target=self._copy, args=(log,), daemon=True)
        self._copier.start()

    def _copy(self, log: IO[bytes]) -> None:
        with contextlib.suppress(Exception):  # the container removed meanwhile: its output ends there
            for chunk in self.container.logs(stream=True, follow=True):
                log.write(chunk)
                log.flush()

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        from docker.errors import NotFound

        try:
            self.container.reload()
        except NotFound:
            self.returncode = LOST
            return self.returncode
        state = self.container.attrs.get("State") or {}
        if state.get("Status") in STOPPED:
            self._copier.join(timeout=5)  # the last lines reach the log before anyone reads it
            self.returncode = int(state.get("ExitCode", LOST))
        return self.returncode

    def send_signal(self, sig: signal.Signals) -> None:
        from docker.errors import APIError

        with contextlib.suppress(APIError):
            self.container.kill(signal=int(sig))

    def wait(self) -> int:
        self.container.wait()
        code = self.poll()
        return LOST if code is None else code

    def remove(self) -> None:
        from docker.errors import APIError

        with contextlib.suppress(APIError):
            self.container.remove(force=True)


def start_rank(
    engine: Engine,
    image: str,
    command: str,
    *,
    name: str,
    env: Mapping[str, str],
    folders: Sequence[Path],
    workdir: Path,
    labels: Mapping[str, str],
    log: IO[bytes],
    shm_size: str,
) -> ContainerRank:
    """One rank's container, started; `folders` are bound read-write at their own paths."""
    container = engine.run(
        image,
        command=["/bin/sh", "-c", command],
        name=name,
        environment=dict(env),
        network_mode="host",
        volumes={str(f): {"bind": str(f), "mode": "rw"} for f in folders},
        working_dir=str(workdir),
        labels=dict(labels),
        user=f"{os.getuid()}:{os.getgid()}",
        shm_size=shm_size,
    )
    return ContainerRank(container, log)


def remove_job_containers(engine: Engine, workspace: str, job: str) -> int:
    """Every container of a job (a runner that vanished left them): removed, running or not."""
    found = engine.client.containers.list(
        all=True, filters={"label": [f"{LABEL_WORKSPACE}={workspace}", f"{LABEL_JOB}={job}"]}
    )
    for container in found:
        with contextlib.suppress(Exception):
            container.remove(force=True)
    return len(found)
