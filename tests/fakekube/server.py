"""`FakeKube`: the fake API server on 127.0.0.1, in a background thread with its own event loop.

Tests talk to it over real HTTP with the real client and kopf (a kubeconfig from `kubeconfig()`); the few
things a real cluster's nodes would do (write pod logs, fail to pull an image) are test-side methods here.
Those methods run on the server's loop (`_call`), since the store is only ever touched from that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml
from aiohttp import web

from tests.fakekube.app import Api
from tests.fakekube.cluster import Cluster
from tests.fakekube.endpoints import EndpointSlices
from tests.fakekube.simulate import Workloads

T = TypeVar("T")
TOKEN = "fakekube-token"


class FakeKube:
    """An in-memory Kubernetes API server over HTTP. `with FakeKube() as fake: fake.kubeconfig(path)`.

    `simulate_workloads`: deployments and daemon sets get ready pods and status (`simulate`);
    `endpoint_slices`: Services get EndpointSlices of their pods (`endpoints`); off by default, for tests that
    publish their own (a local kubelet running real processes). `kubelet_labels`: pods with these labels
    stay unready until `set_pod_ready` (that kubelet's readiness probe).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        kube_version: str = "1.33",
        simulate_workloads: bool = False,
        endpoint_slices: bool = False,
        kubelet_labels: dict[str, str] | None = None,
        workload_delay: float = 0.05,
        bookmark_every: float = 5.0,
        history: int = 10_000,
    ) -> None:
        self.host, self.port = host, port
        self.cluster = Cluster(kube_version, history)
        self.workloads = Workloads(self.cluster, workload_delay) if simulate_workloads else None
        if self.workloads is not None:
            self.workloads.kubelet_labels = kubelet_labels
        self.slices = EndpointSlices(self.cluster, workload_delay) if endpoint_slices else None
        self._api = Api(self.cluster, bookmark_every)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def start(self) -> str:
        """Listen (a free port unless one was given) and return the base URL, e.g. http://127.0.0.1:41234."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._serve())
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fakekube", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.base_url

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._api.application(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}"
        for controller in (self.workloads, self.slices):
            if controller:
                controller.start(asyncio.get_running_loop())

    def stop(self) -> None:
        """Close watch streams, stop listening, end the thread."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        for controller in (self.workloads, self.slices):
            if controller:
                controller.stop()
        for watcher in list(self.cluster.store.watchers):
            watcher.queue.put_nowait(None)
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> FakeKube:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def kubeconfig(self, path: str | Path) -> Path:
        """Write a kubeconfig whose context `fake` (the current one) points here with a static token."""
        path = Path(path)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.base_url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "fake", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "default"}}],
            "current-context": "fake",
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop (the store's only thread) and return its result."""
        if self._loop is None:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def set_pod_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """What `GET .../pods/<pod>/log?container=<container>` returns (nothing runs here to write it)."""
        self._call(lambda: self.cluster.pod_logs.__setitem__((namespace, pod, container), text))

    def fail_deployment(self, namespace: str, name: str, reason: str = "CrashLoopBackOff", message: str = "") -> None:
        """Make a deployment's pods fail: waiting containers with `reason` (needs simulate_workloads=True)."""
        workloads = self._need_workloads()
        self._call(lambda: workloads.fail(namespace, name, reason, message))

    def set_pod_ready(self, namespace: str, pod: str, ready: bool = True) -> None:
        """For pods matching `kubelet_labels` (run by a test's own kubelet): mark them ready or not."""
        workloads = self._need_workloads()
        self._call(lambda: workloads.set_ready(namespace, pod, ready))

    def heal_deployment(self, namespace: str, name: str) -> None:
        """Undo `fail_deployment`: the pods become ready again."""
        workloads = self._need_workloads()
        self._call(lambda: workloads.heal(namespace, name))

    def _need_workloads(self) -> Workloads:
        if self.workloads is None:
            raise RuntimeError("start FakeKube(simulate_workloads=True) to simulate deployments")
        return self.workloads

    def compact(self) -> None:
        """Forget the change history: watches from an older resourceVersion now get 410 Gone."""
        self._call(self.cluster.store.compact)

    def objects(self, plural: str, namespace: str | None = None, group: str = "") -> list[dict[str, Any]]:
        """The stored objects of one resource (copies), for assertions without a client."""
        rtype = self.cluster.registry.any_version(group, plural)
        if rtype is None:
            return []
        return self._call(
            lambda: [self.cluster.present(rtype, o) for o in self.cluster.store.items(rtype.key, namespace)]
        )
