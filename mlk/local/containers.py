"""The Docker runtime of the embedded default: a replica as the cluster runs it, in containers.

One replica = the pod shape of mlk.render.pod, on this machine's Docker engine:

1. a volume (the pod's emptyDir at /var/azureml-app);
2. the `storage-initializer` container (mlk's system image) filling it from the workspace's storage —
   a local store mounted read-only, or blob storage through a read-only SAS — and exiting;
3. the `inference-server` container (the environment's image) with the same environment variables and
   start script as the pod, on the host's network at the replica's port.

Both containers' output goes to the deployment's log files, so `get-logs -c` works as on a cluster. The
containers carry the label `mlk.workspace=<name>`, so an agent that starts after a crash removes what an
earlier one left behind. Docker SDK calls block: they run in threads, off the agent's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlk.local.logfiles import RotatingLog
from mlk.render.pod import APP_ROOT, SERVER_PORT, SERVER_SCRIPT

LABEL = "mlk.workspace"
STORE_MOUNT = "/mlk-store"


def _name(*parts: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", "-".join(parts)).strip("-")[:120]


def _follow(container: Any, path: Path) -> threading.Thread:
    """Copy the container's output into `path` as it comes (a daemon thread; ends with the container)."""

    def copy() -> None:
        log = RotatingLog(path)
        try:
            with contextlib.suppress(Exception):
                for chunk in container.logs(stream=True, follow=True):
                    log.write(chunk)
        finally:
            log.close()

    thread = threading.Thread(target=copy, daemon=True, name=f"logs-{container.name}")
    thread.start()
    return thread


class ContainerReplica:
    """One replica's containers; `start` runs the initializer then the server, `wait` its exit code."""

    def __init__(
        self, engine: Any, workspace: str, key: str, index: int, generation: int, spec: Mapping[str, Any]
    ) -> None:
        self.engine, self.workspace, self.spec = engine, workspace, spec
        self.base = _name("mlk", workspace, key.replace("/", "-"), f"g{generation}", f"r{index}")
        self.labels = {LABEL: workspace, "mlk.deployment": key}
        self.server: Any = None
        self.volume: Any = None

    def initialize(self, log_path: Path) -> int:
        """Run the storage-initializer to completion; its exit code (its output appended to `log_path`)."""
        spec = self.spec
        self.volume = self.engine.client.volumes.create(name=self.base, labels=self.labels)
        args = []
        for part in ("model", "code"):
            digest = (spec.get(part) or {}).get("digest")
            if digest:
                args += [f"--{part}", str(digest)]
        if not args:
            return 0
        mounts = {self.base: {"bind": APP_ROOT, "mode": "rw"}}
        if spec.get("store_path"):
            mounts[str(spec["store_path"])] = {"bind": STORE_MOUNT, "mode": "ro"}
        self._remove(f"{self.base}-init")
        init = self.engine.run(
            str(spec["system_image"]),
            name=f"{self.base}-init",
            command=["python", "-m", "mlk.storage.initializer", *args, "--dest", APP_ROOT],
            environment={"MLK_STORAGE_CONFIG": json.dumps(dict(spec["storage"])), "PYTHONUNBUFFERED": "1"},
            volumes=mounts,
            network_mode="host",
            labels=self.labels,
        )
        try:
            code = int(init.wait().get("StatusCode", 1))
            log = RotatingLog(log_path)
            try:
                log.write(init.logs())
            finally:
                log.close()
        finally:
            with contextlib.suppress(Exception):
                init.remove(force=True)
        return code

    def start_server(self, port: int, env: Mapping[str, str], log_path: Path) -> None:
        self._remove(self.base)
        script = SERVER_SCRIPT.replace(f"--port {SERVER_PORT}", f"--port {port}")
        self.server = self.engine.run(
            str(self.spec["image"]),
            name=self.base,
            command=["/bin/sh", "-c", script],
            environment=dict(env),
            volumes={self.base: {"bind": APP_ROOT, "mode": "rw"}},
            network_mode="host",
            labels=self.labels,
        )
        _follow(self.server, log_path)

    def wait(self) -> int:
        return int(self.server.wait().get("StatusCode", 1)) if self.server is not None else 1

    def stop(self, grace: float) -> None:
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.stop(timeout=int(grace))

    def remove(self) -> None:
        self._remove(self.base)
        if self.volume is not None:
            with contextlib.suppress(Exception):
                self.volume.remove(force=True)

    def _remove(self, name: str) -> None:
        found = self.engine.container(name)
        if found is not None:
            with contextlib.suppress(Exception):
                found.remove(force=True)


def remove_leftovers(engine: Any, workspace: str) -> int:
    """Containers and volumes an earlier agent of this workspace left (it was killed): removed."""
    removed = 0
    for container in engine.client.containers.list(all=True, filters={"label": f"{LABEL}={workspace}"}):
        with contextlib.suppress(Exception):
            container.remove(force=True)
            removed += 1
    for volume in engine.client.volumes.list(filters={"label": f"{LABEL}={workspace}"}):
        with contextlib.suppress(Exception):
            volume.remove(force=True)
    return removed


async def in_thread(function: Any, *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)
