"""The pod network of the test cluster: one Linux bridge, one network namespace per pod.

Each pod gets its own network namespace (its own loopback and ports, as under a real kubelet and CNI
plugin), joined to the bridge by a veth pair, with an address from the cluster's /24. The host holds
the bridge's first address (the gateway): pods reach the API server and the workspace's storage there.
Every address is on this machine, in namespaces this harness made; nothing leaves it.

Several clusters may run at once (one per test session): each takes the first free index, which names
its bridge (mlk-cp<N>) and its subnet.
"""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path

BASE = ipaddress.ip_network("10.213.0.0/16")
NETNS_DIR = Path("/run/netns")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@dataclass(frozen=True)
class PodNetwork:
    index: int

    @property
    def bridge(self) -> str:
        return f"mlk-cp{self.index}"

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return list(BASE.subnets(new_prefix=24))[self.index]  # type: ignore[return-value]

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def service_range(self) -> str:
        """ClusterIPs: a /16 of this cluster's own, so that two clusters running at once never hand out
        the same address (the load balancer's proxy binds them on this machine)."""
        return f"10.{96 + self.index % 100}.0.0/16"

    @property
    def kubernetes_service(self) -> str:
        """The `kubernetes` Service's ClusterIP: the range's first address, as the API server assigns it."""
        return str(ipaddress.ip_network(self.service_range).network_address + 1)

    def pod_address(self, slot: int) -> str:
        """Slot 1.. → .2 .. .254 (the gateway holds .1)."""
        return str(self.subnet.network_address + 1 + slot)

    @classmethod
    def create(cls) -> PodNetwork:
        """Take the first free index and bring its bridge up with the gateway address."""
        for index in range(256):
            net = cls(index)
            made = _ip("link", "add", net.bridge, "type", "bridge", check=False)
            if made.returncode != 0:
                continue  # another cluster holds it
            _ip("addr", "add", f"{net.gateway}/24", "dev", net.bridge)
            _ip("link", "set", net.bridge, "up")
            return net
        raise RuntimeError("no free pod network index (256 test clusters running?)")

    def delete(self) -> None:
        for ns in NETNS_DIR.glob(f"{self.bridge}-*") if NETNS_DIR.exists() else []:
            _ip("netns", "del", ns.name, check=False)
        _ip("link", "del", self.bridge, check=False)

    # --- pod sandboxes ----------------------------------------------------------------------------------
    def sandbox_name(self, slot: int) -> str:
        return f"{self.bridge}-{slot}"

    def add_sandbox(self, slot: int, pid: int | None = None) -> tuple[str, Path]:
        """A network namespace for one pod, wired to the bridge: its address and the namespace's path.
        With `pid`: that process's namespace (a pause container's), named for the pod."""
        name = self.sandbox_name(slot)
        host_end, pod_end = f"{self.bridge}v{slot}", f"{self.bridge}p{slot}"
        _ip("netns", "del", name, check=False)  # a leftover of a crashed agent
        _ip("link", "del", host_end, check=False)
        if pid is None:
            _ip("netns", "add", name)
        else:
            _ip("netns", "attach", name, str(pid))
        _ip("link", "add", host_end, "type", "veth", "peer", "name", pod_end)
        _ip("link", "set", pod_end, "netns", name)
        _ip("link", "set", host_end, "master", self.bridge)
        _ip("link", "set", host_end, "up")
        address = self.pod_address(slot)
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "set", pod_end, "name", "eth0")
        _ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", name, "route", "add", "default", "via", self.gateway)
        return address, NETNS_DIR / name

    def remove_sandbox(self, slot: int) -> None:
        _ip("netns", "del", self.sandbox_name(slot), check=False)  # takes its veth end, and so the pair
        _ip("link", "del", f"{self.bridge}v{slot}", check=False)
