"""The test node agent: stands in for the kubelet, and only for it.

It registers its Node (capacity, allocatable, addresses, kubelet endpoint; `nvidia.com/gpu` when asked),
renews its Lease in kube-node-lease every 10 s as the node lifecycle controller expects, watches the pods
the scheduler binds to it, and runs each with a PodRunner. Everything it writes goes through the API
server under system:node:<name>, so the Node authorizer and NodeRestriction check it as they check a
kubelet. Containers are started from the main thread only: their PR_SET_PDEATHSIG is tied to the thread
that forks them, and this one lives as long as the agent.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tests.controlplane.network import PodNetwork
from tests.controlplane.node import kubelet_server
from tests.controlplane.node.api import Api, ApiError
from tests.controlplane.node.pods import PodRunner

LEASE_SECONDS = 40
RENEW_EVERY = 10.0
STATUS_EVERY = 60.0
GPU = "nvidia.com/gpu"
GPU_LABEL = "nvidia.com/gpu.present"


def _micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Agent:
    def __init__(
        self,
        api: Api,
        name: str,
        network: PodNetwork,
        root: Path,
        api_port: int,
        kubelet_port: int,
        cpus: str,
        gpus: int,
        backoff: float,
        pause_image: str | None = None,
    ) -> None:
        self.api, self.name, self.network, self.root = api, name, network, root
        self.api_port, self.kubelet_port, self.cpus, self.gpus = api_port, kubelet_port, cpus, gpus
        self.backoff = backoff
        self.pause_image = pause_image  # set: the Docker runtime
        self.runners: dict[str, PodRunner] = {}
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.stopping = threading.Event()
        self._slots: set[int] = set()

    # --- the Node and its Lease -------------------------------------------------------------------------
    def node_status(self) -> dict[str, Any]:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        capacity = {"cpu": self.cpus, "memory": f"{memory // 1024}Ki", "pods": "110", "ephemeral-storage": "50Gi"}
        if self.gpus:
            capacity[GPU] = str(self.gpus)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def cond(kind: str, value: str, reason: str, message: str) -> dict[str, str]:
            return {
                "type": kind,
                "status": value,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
            }

        return {
            "capacity": capacity,
            "allocatable": capacity,
            "addresses": [
                {"type": "InternalIP", "address": self.network.gateway},
                {"type": "Hostname", "address": self.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port}},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "mlk test node agent is posting ready status"),
            ],
            "nodeInfo": {
                "machineID": "mlk-test",
                "systemUUID": "mlk-test",
                "bootID": str(os.getpid()),
                "kernelVersion": platform.release(),
                "osImage": "mlk test node (local processes)",
                "containerRuntimeVersion": "mlk-node://0.1",
                "kubeletVersion": "v1.37.2",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }

    def register(self) -> None:
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        if self.gpus:
            labels[GPU_LABEL] = "true"
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "labels": labels}}
        try:
            self.api.request("POST", "/api/v1/nodes", node)
        except ApiError as exc:
            if exc.status != 409:
                raise
        self.api.merge_patch(f"/api/v1/nodes/{self.name}/status", {"status": self.node_status()})

    def renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": _micro_now()}
        try:
            self.api.merge_patch(path, {"spec": spec})
        except ApiError as exc:
            if exc.status != 404:
                raise
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": "kube-node-lease"},
                "spec": spec,
            }
            self.api.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)

    # --- logs for the API server ------------------------------------------------------------------------
    def find_log(self, namespace: str, pod: str, container: str, previous: bool) -> Any:
        for runner in list(self.runners.values()):
            meta = runner.pod["metadata"]
            if (meta["namespace"], meta["name"]) != (namespace, pod):
                continue
            for run in runner.runs:
                if run.name == container:
                    # "current" is the newest container made: while one waits out its back-off, the one
                    # that exited last (as the kubelet serves it)
                    current = run.restarts if run.proc is not None or run.log_file().exists() else run.restarts - 1
                    wanted = current - 1 if previous else current
                    if wanted < 0:
                        return None
                    return run.log_file(wanted), (lambda r=run, w=wanted: r.proc is not None and r.restarts == w)
        return None

    # --- the loop ---------------------------------------------------------------------------------------
    def _on_event(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.put((kind, obj))

    def _slot(self) -> int:
        slot = next(i for i in range(1, 254) if i not in self._slots)
        self._slots.add(slot)
        return slot

    def _handle(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "SYNC":
            seen = {p["metadata"]["uid"] for p in obj["items"]}
            for uid in set(self.runners) - seen:
                self._drop(uid)
            for pod in obj["items"]:
                self._handle("MODIFIED", pod)
            return
        uid = obj["metadata"]["uid"]
        if kind == "DELETED":
            self._drop(uid)
            return
        runner = self.runners.get(uid)
        if runner is None:
            if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed") and not obj["metadata"].get(
                "deletionTimestamp"
            ):
                return  # finished before this agent started: nothing to run
            slot = self._slot()
            root = self.root / "pods" / uid
            runner = PodRunner(self.api, obj, root, slot, self.network, self.api_port, self.backoff, self.pause_image)
            self.runners[uid] = runner
        runner.update(obj)

    def _drop(self, uid: str) -> None:
        runner = self.runners.pop(uid, None)
        if runner is not None:
            runner.cleanup()
            self._slots.discard(runner.slot)

    def run(self) -> None:
        self.register()
        self.renew_lease()
        watcher = threading.Thread(
            target=self.api.watch,
            args=("/api/v1/pods", {"fieldSelector": f"spec.nodeName={self.name}"}, self._on_event, self.stopping),
            name="pod-watch",
            daemon=True,
        )
        watcher.start()
        next_lease, next_status = time.monotonic() + RENEW_EVERY, time.monotonic() + STATUS_EVERY
        while not self.stopping.is_set():
            try:
                kind, obj = self.events.get(timeout=0.1)
                self._handle(kind, obj)
                while True:
                    kind, obj = self.events.get_nowait()
                    self._handle(kind, obj)
            except queue.Empty:
                pass
            for uid, runner in list(self.runners.items()):
                try:
                    runner.tick()
                except ApiError as exc:
                    print(f"pod {runner.pod['metadata']['name']}: {exc}", flush=True)
                if runner.gone:
                    self._drop(uid)
            now = time.monotonic()
            if now >= next_lease:
                self.renew_lease()
                next_lease = now + RENEW_EVERY
            if now >= next_status:
                self.api.merge_patch(f"/api/v1/nodes/{self.name}/status", {"status": self.node_status()})
                next_status = now + STATUS_EVERY

    def shutdown(self) -> None:
        self.stopping.set()
        for uid in list(self.runners):
            self._drop(uid)


def main(args: Any) -> None:
    api = Api(Path(args.kubeconfig))
    agent = Agent(
        api,
        args.name,
        PodNetwork(args.network_index),
        Path(args.root),
        args.api_port,
        args.kubelet_port,
        args.cpus,
        args.gpus,
        args.backoff,
        args.pause_image if args.runtime == "docker" else None,
    )
    kubelet_server.serve(
        agent.network.gateway, args.kubelet_port, Path(args.tls_cert), Path(args.tls_key), Path(args.ca), agent.find_log
    )
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    try:
        agent.run()
    finally:
        agent.shutdown()
