"""The Docker runtime of the embedded default: a replica as the cluster runs it, in containers.

One replica = the pod shape of mlk.render.pod, on this machine's Docker engine:

1. a volume (the pod's emptyDir at /var/azureml-app);
2. the `storage-initializer` container (mlk's system image) filling it from the workspace's storage —
   a local store mounted read-only, or blob storage through a read-only SAS — and exiting;
3. the `inference-server` container (the environment's image) with the same environment variables and
   start script as the pod, on the host's network at the replica's port.

A custom container (an image whose CUSTOM_LABEL holds its inference_config, see mlk.local.docker_prepare)
runs its own command and listens on its own port, which two replicas — or two deployments — would both
want on the host's network. So it gets a network of its own, as a pod does: a sandbox container (mlk's
system image, no network) runs the route adapter (mlk.server.nocode.routes) on a Unix socket in a private
folder, the custom container joins the sandbox's network namespace, and the agent relays the replica's
port on 127.0.0.1 to that socket byte for byte. The container is reachable only through the adapter, which
wants the agent's replica token; it has no network beyond its own loopback.

Both containers' output goes to the deployment's log files, so `get-logs -c` works as on a cluster. The
containers carry the label `mlk.workspace=<name>`, so an agent that starts after a crash removes what an
earlier one left behind. Docker SDK calls block: they run in threads, off the agent's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlk.errors import EXIT_BOOT_FAILED
from mlk.http import peer
from mlk.local.logfiles import RotatingLog
from mlk.render.pod import ADAPTER_MODULE, APP_ROOT, MODELS, SERVER_PORT, SERVER_SCRIPT, adapter_args

LABEL = "mlk.workspace"
STORE_MOUNT = "/mlk-store"
CUSTOM_LABEL = "mlk.dev/custom-container"
"""On a custom container's image: JSON {inference_config, model_mount_path}."""
SOCKETS = "/mlk-sockets"
SOCKET = "adapter.sock"


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
        self.sandbox: Any = None
        self.relay: Relay | None = None
        self.sockets: Path | None = None

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
        custom = custom_config(self.engine, str(self.spec["image"]))
        if custom is not None:
            self._start_custom(port, env, log_path, custom)
            return
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

    def _start_custom(self, port: int, env: Mapping[str, str], log_path: Path, custom: Mapping[str, Any]) -> None:
        """The sandbox with the route adapter, the custom container in its network, the relay to it."""
        own_env = dict(env)
        token = own_env.pop(peer.ENV, None)  # the adapter checks it; the container never sees it
        self.sockets = Path(tempfile.mkdtemp(prefix="mlk-replica-"))  # 0700: the relay's user alone
        self._remove(f"{self.base}-sandbox")
        config = custom["inference_config"]
        self.sandbox = self.engine.run(
            str(self.spec["system_image"]),
            name=f"{self.base}-sandbox",
            command=["python", "-m", ADAPTER_MODULE, "--unix", f"{SOCKETS}/{SOCKET}", *adapter_args(config)],
            environment={"PYTHONUNBUFFERED": "1", **({peer.ENV: token} if token else {})},
            volumes={str(self.sockets): {"bind": SOCKETS, "mode": "rw"}},
            network_mode="none",
            labels=self.labels,
        )
        volumes = {self.base: {"bind": APP_ROOT, "mode": "rw"}}
        digest = (self.spec.get("model") or {}).get("digest")
        if custom.get("model_mount_path") and digest and self.volume is not None:
            # the model's folder in the volume, as the pod's subPath mount shows it
            source = Path(self.volume.attrs["Mountpoint"]) / MODELS / str(digest)
            volumes[str(source)] = {"bind": str(custom["model_mount_path"]), "mode": "ro"}
        self.server = self.engine.run(
            str(self.spec["image"]),
            name=self.base,
            environment=own_env,
            volumes=volumes,
            network_mode=f"container:{self.sandbox.id}",
            labels=self.labels,
        )
        _follow(self.sandbox, log_path)
        _follow(self.server, log_path)
        self.relay = Relay(port, self.sockets / SOCKET)

    def wait(self) -> int:
        """The server's exit code; with a sandbox, also its end: an adapter that stopped fails the replica."""
        if self.server is None:
            return 1
        if self.sandbox is None:
            return int(self.server.wait().get("StatusCode", 1))
        while True:
            for container in (self.server, self.sandbox):
                try:
                    container.reload()
                except Exception:  # removed under us: the replica is over
                    return 1
                if container.status in ("exited", "dead"):
                    code = int(container.attrs["State"].get("ExitCode", 1))
                    if container is self.server:
                        return code
                    self.stop(5)
                    return EXIT_BOOT_FAILED  # the replica cannot be reached: its log says why
            time.sleep(0.5)

    def stop(self, grace: float) -> None:
        for container in (self.server, self.sandbox):  # the adapter last: it drains what it forwards
            if container is not None:
                with contextlib.suppress(Exception):
                    container.stop(timeout=int(grace))

    def remove(self) -> None:
        if self.relay is not None:
            self.relay.close()
        self._remove(self.base)
        self._remove(f"{self.base}-sandbox")
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
        if self.volume is not None:
            with contextlib.suppress(Exception):
                self.volume.remove(force=True)

    def _remove(self, name: str) -> None:
        found = self.engine.container(name)
        if found is not None:
            with contextlib.suppress(Exception):
                found.remove(force=True)


def custom_config(engine: Any, image: str) -> dict[str, Any] | None:
    """A custom container's {inference_config, model_mount_path}, from its image's label; None otherwise."""
    labels = (engine.client.api.inspect_image(image).get("Config") or {}).get("Labels") or {}
    text = labels.get(CUSTOM_LABEL)
    return dict(json.loads(text)) if text else None


class Relay:
    """127.0.0.1:`port` → the Unix socket `path`, byte for byte, a thread per direction of a connection.
    A connection made before the socket exists is closed at once (the readiness probe tries again)."""

    def __init__(self, port: int, path: Path) -> None:
        self.path = path
        self.listener = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._accept, daemon=True, name=f"relay-{port}").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(str(self.path))
            except OSError:
                upstream.close()
                client.close()
                continue
            threading.Thread(target=_connection, args=(client, upstream), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()


def _connection(client: socket.socket, upstream: socket.socket) -> None:
    """Both directions of one connection; both sockets closed once both have ended."""
    other = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
    other.start()
    _pump(upstream, client)
    other.join()
    client.close()
    upstream.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy until `source` ends, then end `target`'s writing side (the other direction may go on)."""
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        with contextlib.suppress(OSError):  # a reset: the other direction ends too
            source.shutdown(socket.SHUT_RDWR)
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


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
