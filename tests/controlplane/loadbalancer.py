"""LoadBalancer Services for the test cluster, as cloud-provider-kind gives them on kind.

A Service of type LoadBalancer gets, after `--delay` seconds (clouds take a while; mlk must cope with an
address that arrives after the endpoint), its own loopback address 127.213.<cluster>.<n> in
status.loadBalancer.ingress, and a TCP proxy listening there on each service port, forwarding to a ready
endpoint of the Service (from its EndpointSlices: pod address and target port), round robin. The proxy
stands in for the cloud's load balancer and kube-proxy both; it runs in this process, under the admin
identity (a cloud controller's rights).

Every Service with a ClusterIP gets the same proxy on that address, which it adds to the pod network's
bridge (`--bridge`): a pod dials the ClusterIP through its default route to the gateway, as kube-proxy's
userspace mode served it. (The test cluster has no DNS: what pods must reach by a Service they reach by
its ClusterIP, which is stable for the Service's life in every cluster.)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess
import threading
from pathlib import Path
from typing import Any, NamedTuple

from tests.controlplane.node.api import Api


class Backend(NamedTuple):
    ip: str
    port: int
    slice: str
    """The EndpointSlice that lists it."""
    port_name: str


class LoadBalancers:
    def __init__(self, api: Api, prefix: str, delay: float, bridge: str) -> None:
        self.api, self.prefix, self.delay, self.bridge = api, prefix, delay, bridge
        self.addresses: dict[str, str] = {}  # service uid → address
        self.cluster_ips: dict[str, str] = {}  # service uid → its ClusterIP, added to the bridge
        self.listeners: dict[tuple[str, int], asyncio.AbstractServer] = {}
        self.starting: set[tuple[str, int]] = set()
        self.backends: dict[tuple[str, str], list[Backend]] = {}  # (namespace, service) → ready endpoints
        self.turn = itertools.count()
        self.loop = asyncio.new_event_loop()
        self.stopping = threading.Event()

    def _address(self, uid: str) -> str:
        if uid not in self.addresses:
            used = set(self.addresses.values())
            self.addresses[uid] = next(f"{self.prefix}.{n}" for n in range(1, 255) if f"{self.prefix}.{n}" not in used)
        return self.addresses[uid]

    # --- watch callbacks (threads) → the loop -----------------------------------------------------------
    def on_service(self, kind: str, obj: dict[str, Any]) -> None:
        items = obj["items"] if kind == "SYNC" else [obj]
        for svc in items:
            self.loop.call_soon_threadsafe(self._service, "DELETED" if kind == "DELETED" else "SET", svc)

    def on_slice(self, kind: str, obj: dict[str, Any]) -> None:
        items = obj["items"] if kind == "SYNC" else [obj]
        for item in items:
            self.loop.call_soon_threadsafe(self._slice, kind, item)

    def _slice(self, kind: str, item: dict[str, Any]) -> None:
        meta = item["metadata"]
        service = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if not service:
            return
        key = (meta["namespace"], service)
        found = [
            (address, int(port["port"]), port.get("name") or "")
            for endpoint in item.get("endpoints") or []
            if (endpoint.get("conditions") or {}).get("ready")
            for address in endpoint.get("addresses") or []
            for port in item.get("ports") or []
        ]
        backends = self.backends.setdefault(key, [])
        # This slice's endpoints replace what it listed before: a pod gone from it must leave rotation at
        # once, or its address, handed to another pod later (the node agent reuses them), gets its traffic.
        backends[:] = [b for b in backends if b.slice != meta["name"]]
        if kind != "DELETED":
            backends += [Backend(ip, port, meta["name"], name) for ip, port, name in found]

    def _cluster_ip(self, kind: str, svc: dict[str, Any]) -> None:
        meta, spec = svc["metadata"], svc.get("spec") or {}
        uid, address = meta["uid"], spec.get("clusterIP")
        owner = f"{uid}/clusterIP"
        if kind == "DELETED" or not address or address == "None":
            for key in [k for k in self.listeners if k[0] == owner]:
                self.listeners.pop(key).close()
            if uid in self.cluster_ips:
                _address_on_bridge("del", self.cluster_ips.pop(uid), self.bridge)
            return
        if uid not in self.cluster_ips:
            _address_on_bridge("add", address, self.bridge)
            self.cluster_ips[uid] = address
        for port in spec.get("ports") or []:
            key = (owner, int(port["port"]))
            if key not in self.listeners and (port.get("protocol") or "TCP") == "TCP":
                self.loop.create_task(self._listen(key, address, meta["namespace"], meta["name"], port))

    def _service(self, kind: str, svc: dict[str, Any]) -> None:
        self._cluster_ip(kind, svc)
        meta, spec = svc["metadata"], svc.get("spec") or {}
        uid = meta["uid"]
        if kind == "DELETED" or spec.get("type") != "LoadBalancer":
            for key in [k for k in self.listeners if k[0] == uid]:
                self.listeners.pop(key).close()
            self.addresses.pop(uid, None)
            return
        address = self._address(uid)
        for port in spec.get("ports") or []:
            key = (uid, int(port["port"]))
            if key not in self.listeners:
                self.loop.create_task(self._listen(key, address, meta["namespace"], meta["name"], port))
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if not any(i.get("ip") == address for i in ingress):
            self.loop.call_later(self.delay, self._publish, meta["namespace"], meta["name"], address)

    def _publish(self, namespace: str, name: str, address: str) -> None:
        status = {"status": {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]}}}
        threading.Thread(
            target=self.api.merge_patch,
            args=(f"/api/v1/namespaces/{namespace}/services/{name}/status", status),
            daemon=True,
        ).start()

    async def _listen(
        self, key: tuple[str, int], address: str, namespace: str, name: str, port: dict[str, Any]
    ) -> None:
        port_name = port.get("name") or ""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            targets = [b for b in self.backends.get((namespace, name), []) if b.port_name == port_name]
            if not targets:
                writer.close()
                return
            target = targets[next(self.turn) % len(targets)]
            try:
                up_reader, up_writer = await asyncio.open_connection(target.ip, target.port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        if key in self.starting or key in self.listeners:  # a second event for the Service meanwhile
            return
        self.starting.add(key)
        try:
            self.listeners[key] = await asyncio.start_server(handle, address, key[1])
        finally:
            self.starting.discard(key)

    def run(self) -> None:
        for path, callback in (
            ("/api/v1/services", self.on_service),
            ("/apis/discovery.k8s.io/v1/endpointslices", self.on_slice),
        ):
            threading.Thread(target=self.api.watch, args=(path, {}, callback, self.stopping), daemon=True).start()
        self.loop.run_forever()


def _address_on_bridge(action: str, address: str, bridge: str) -> None:
    subprocess.run(["ip", "addr", action, f"{address}/32", "dev", bridge], capture_output=True, check=False)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.controlplane.loadbalancer")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--prefix", required=True, help="first three octets of the addresses to hand out")
    parser.add_argument("--bridge", required=True, help="the pod network's bridge, where ClusterIPs are added")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds before an address is published")
    args = parser.parse_args()
    LoadBalancers(Api(Path(args.kubeconfig)), args.prefix, args.delay, args.bridge).run()


if __name__ == "__main__":
    main()
