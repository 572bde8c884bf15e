"""The router's configuration from the cluster: mlk's custom resources, the keys Secrets and EndpointSlices.

OnlineEndpoint       → an endpoint: auth mode, traffic, mirror traffic
Secret keys-<ns>-<ep> → its keys (primaryKey, secondaryKey) and aml_token signing secret (tokenSecret): the
                       operator's copy in the router's own namespace, the only Secrets the router may read
OnlineDeployment     → a deployment of it: request_settings
EndpointSlice        → the ready pods behind the deployment's Service: the replicas, by pod IP and port

Every kind is listed, then watched; a watch that ends (server timeout, lost connection) lists again, so
a deletion missed in between cannot linger. Changes are coalesced: a burst of events makes one reload.
Endpoint names are unique per workspace in Azure but not across a cluster's namespaces: when two
namespaces hold the same endpoint name, the older endpoint keeps the scoring URI and the clash is logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mlk.render import names
from mlk.router.config import DeploymentConfig, EndpointConfig, RequestSettings, RouterConfig

log = logging.getLogger("mlk.router")
Obj = Mapping[str, Any]
SLICE_SERVICE = "kubernetes.io/service-name"
OWN_NAMESPACE = os.environ.get("MLK_NAMESPACE", "mlk-system")
# (api version, kind, label selector, namespace): what the router reads (None: all namespaces).
KINDS = (
    (names.API_VERSION, "OnlineEndpoint", None, None),
    (names.API_VERSION, "OnlineDeployment", None, None),
    (
        "v1",
        "Secret",
        f"{names.LABEL_COMPONENT}={names.ROUTED_KEYS},{names.LABEL_MANAGED_BY}={names.MANAGED_BY}",
        OWN_NAMESPACE,
    ),
    ("discovery.k8s.io/v1", "EndpointSlice", f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY}", None),
)
WATCH_SECONDS = 300
COALESCE_SECONDS = 0.05


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _label(obj: Obj, key: str) -> str:
    return str((_meta(obj).get("labels") or {}).get(key) or _meta(obj).get("name") or "")


def _replicas(slices: Iterable[Obj]) -> tuple[str, ...]:
    urls = set()
    for item in slices:
        port = next((p.get("port") for p in item.get("ports") or [] if p.get("name") in ("http", "", None)), None)
        if port is None:
            continue
        for endpoint in item.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in endpoint.get("addresses") or []:
                host = f"[{address}]" if ":" in address else address
                urls.add(f"http://{host}:{port}")
    return tuple(sorted(urls))


def _keys(secret: Obj | None) -> tuple[tuple[str, ...], str | None]:
    data = {k: base64.b64decode(v).decode() for k, v in ((secret or {}).get("data") or {}).items()}
    keys = tuple(data[k] for k in ("primaryKey", "secondaryKey") if data.get(k))
    return keys, data.get("tokenSecret")


def _shares(values: Mapping[str, Any] | None) -> dict[str, int]:
    return {names.canonical(str(k)): int(v) for k, v in (values or {}).items()}


def from_objects(
    endpoints: Iterable[Obj], deployments: Iterable[Obj], secrets: Iterable[Obj], slices: Iterable[Obj]
) -> RouterConfig:
    """The router configuration these objects describe (pure: the tests feed it objects directly)."""
    by_secret = {
        ((_meta(s).get("labels") or {}).get(names.LABEL_ENDPOINT_NAMESPACE), _label(s, names.LABEL_ENDPOINT)): s
        for s in secrets
    }
    by_service: dict[tuple[Any, str], list[Obj]] = {}
    for item in slices:
        by_service.setdefault((_meta(item).get("namespace"), _label(item, SLICE_SERVICE)), []).append(item)
    children: dict[tuple[Any, str], list[Obj]] = {}
    for dep in deployments:
        endpoint = names.canonical(str((dep.get("spec") or {}).get("endpoint_name") or ""))
        children.setdefault((_meta(dep).get("namespace"), endpoint), []).append(dep)

    out: dict[str, EndpointConfig] = {}
    for ep in sorted(endpoints, key=lambda e: str(_meta(e).get("creationTimestamp") or "")):
        namespace, name = _meta(ep).get("namespace"), _label(ep, names.AZURE_LABEL_ENDPOINT)
        if name in out:
            log.warning("endpoint '%s' exists in several namespaces: %s keeps its scoring URI", name, namespace)
            continue
        spec = ep.get("spec") or {}
        keys, token_secret = _keys(by_secret.get((namespace, name)))
        deps = {}
        for dep in children.get((namespace, name), []):
            dep_name = _label(dep, names.AZURE_LABEL_DEPLOYMENT)
            settings = (dep.get("spec") or {}).get("request_settings") or {}
            service = names.deployment_object_name(name, dep_name)
            deps[dep_name] = DeploymentConfig(
                dep_name,
                _replicas(by_service.get((namespace, service), [])),
                RequestSettings(
                    int(settings.get("request_timeout_ms", 5000)),
                    int(settings.get("max_concurrent_requests_per_instance", 1)),
                    int(settings.get("max_queue_wait_ms", 500)),
                ),
            )
        out[name] = EndpointConfig(
            name,
            str(spec.get("auth_mode", "key")),
            keys,
            token_secret,
            _shares(spec.get("traffic")),
            _shares(spec.get("mirror_traffic")),
            deps,
        )
    return RouterConfig(out)


class KubernetesSource:
    """A ConfigSource reading the cluster through mlk.k8s (one client per watching thread)."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self.connect = connect
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {kind: {} for _, kind, _, _ in KINDS}
        self.lock = threading.Lock()
        self.changed: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = threading.Event()

    def _list(self, cluster: Any, api_version: str, kind: str, selector: str | None, namespace: str | None) -> None:
        found = cluster.list(api_version, kind, namespace, label_selector=selector)
        with self.lock:
            self.objects[kind] = {(_meta(o).get("namespace") or "", _meta(o)["name"]): o for o in found}

    def load(self) -> RouterConfig:
        with self.connect() as cluster:
            for api_version, kind, selector, namespace in KINDS:
                self._list(cluster, api_version, kind, selector, namespace)
        return self.snapshot()

    def snapshot(self) -> RouterConfig:
        with self.lock:
            groups = {kind: list(objs.values()) for kind, objs in self.objects.items()}
        return from_objects(
            groups["OnlineEndpoint"], groups["OnlineDeployment"], groups["Secret"], groups["EndpointSlice"]
        )

    def poke(self) -> None:
        if self.loop is not None and self.changed is not None:
            self.loop.call_soon_threadsafe(self.changed.set)

    def _follow(self, api_version: str, kind: str, selector: str | None, namespace: str | None) -> None:
        """List, then watch, forever (a thread per kind)."""
        while not self.stopping.is_set():
            try:
                with self.connect() as cluster:
                    self._list(cluster, api_version, kind, selector, namespace)
                    self.poke()
                    watch = cluster.watch(api_version, kind, namespace, timeout=WATCH_SECONDS, label_selector=selector)
                    for event, obj in watch:
                        key = (_meta(obj).get("namespace") or "", _meta(obj).get("name"))
                        with self.lock:
                            if event == "DELETED":
                                self.objects[kind].pop(key, None)  # type: ignore[arg-type]
                            else:
                                self.objects[kind][key] = obj  # type: ignore[index]
                        self.poke()
                        if self.stopping.is_set():
                            return
            except Exception as exc:  # the API server restarts, RBAC changes: keep the last view and retry
                log.warning("watching %s failed (%s); retrying in 2 s", kind, exc)
                self.stopping.wait(2.0)

    async def watch(self, apply: Callable[[RouterConfig], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.changed = asyncio.Event()
        for api_version, kind, selector, namespace in KINDS:
            threading.Thread(
                target=self._follow, args=(api_version, kind, selector, namespace), name=f"watch-{kind}", daemon=True
            ).start()
        last = self.snapshot()
        try:
            while True:
                await self.changed.wait()
                await asyncio.sleep(COALESCE_SECONDS)
                self.changed.clear()
                config = self.snapshot()
                if config != last:
                    last = config
                    apply(config)
        finally:
            self.stopping.set()


def wait_ready(source: KubernetesSource, timeout: float = 30.0) -> None:
    """Block until the API server answers a first list (the router's start)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            source.load()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
