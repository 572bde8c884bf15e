"""One test cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the node agent.

`Cluster(root).run()` is the supervisor: it makes the certificates, the pod network and the kubeconfigs,
starts each component as a child (each dies with the supervisor: PR_SET_PDEATHSIG), writes `ready`
once the node is Ready, and on SIGTERM stops them in reverse order and removes the network. Nothing it
starts outlives it. `start()` / `stop()` in __main__ run it in the background for scripts/test-cluster;
the test fixture runs it as its own child.

The API server is configured as a production cluster is, where it matters to mlk: RBAC and Node
authorization, the admission plugins named in the issue (NamespaceLifecycle, ServiceAccount, PodSecurity,
OwnerReferencesPermissionEnforcement, NodeRestriction), service-account tokens signed by a key pair,
TLS everywhere but to etcd. etcd runs with --unsafe-no-fsync: a test cluster's data need not survive a
power cut, and fsync dominates on these disks.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane import build, pki
from tests.controlplane.network import PodNetwork

NODE_NAME = "mlk-node"
RUNTIMES = ("process", "docker")
"""How the node agent runs containers: as local processes, or through the Docker engine."""
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here: a preexec_fn must not load libraries


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the process that started it goes (Linux). It only makes one
    system call, so it is safe in a process with threads (PLW1509's worry is locks taken in the child)."""
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str) -> dict[str, Any]:
    def data(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mlk-test", "cluster": {"server": server, "certificate-authority-data": data(ca)}}],
        "users": [{"name": user, "user": {"client-certificate-data": data(cert), "client-key-data": data(key)}}],
        "contexts": [{"name": "mlk-test", "context": {"cluster": "mlk-test", "user": user}}],
        "current-context": "mlk-test",
    }


IDENTITIES = {
    "admin": pki.Identity("admin", "kubernetes-admin", ("system:masters",)),
    "controller-manager": pki.Identity("controller-manager", "system:kube-controller-manager"),
    "scheduler": pki.Identity("scheduler", "system:kube-scheduler"),
    "node": pki.Identity("node", f"system:node:{NODE_NAME}", ("system:nodes",)),
    "apiserver-kubelet-client": pki.Identity(
        "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)
    ),
}


@dataclass
class Cluster:
    root: Path
    gpus: int = 0
    backoff: float = 10.0
    lb_delay: float = 2.0
    runtime: str = "process"
    """process: containers as local processes; docker: as containers of the Docker engine."""
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    @property
    def ready_file(self) -> Path:
        return self.root / "ready"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(self.log(name), "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - one system call
                env={**os.environ, **(env or {})},
            )
        self.procs.append((name, proc))
        return proc

    def _wait(self, what: str, probe: Any, proc: subprocess.Popen[bytes], name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = self.log(name).read_text(errors="replace")[-4000:]
                raise RuntimeError(f"{name} exited with {proc.returncode} before {what}:\n{tail}")
            try:
                if probe():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name}: {what} not reached in {timeout:.0f} s (log: {self.log(name)})")

    # --- the supervisor ---------------------------------------------------------------------------------
    def run(self) -> None:
        stop = False

        def on_signal(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        network: PodNetwork | None = None
        try:
            network = PodNetwork.create()
            self._bring_up(network)
            self.ready_file.write_text(json.dumps({"pid": os.getpid(), "bridge": network.bridge}))
            while not stop:
                for name, proc in self.procs:
                    if proc.poll() is not None:
                        print(f"{name} exited with {proc.returncode}; stopping the cluster", file=sys.stderr)
                        stop = True
                time.sleep(0.5)
        finally:
            self.ready_file.unlink(missing_ok=True)
            for _, proc in reversed(self.procs):
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
            if network is not None:
                if self.runtime == "docker":
                    from tests.controlplane.node import docker_runtime

                    docker_runtime.remove_leftovers(network.bridge)
                network.delete()

    def _bring_up(self, network: PodNetwork) -> None:
        binaries = build.ensure()
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        authority = pki.Authority(self.root / "pki")
        sa_key, sa_pub = pki.service_account_keys(authority.folder)
        api_port, etcd_port, peer_port, kubelet_port = free_port(), free_port(), free_port(), free_port()
        hosts = (
            "127.0.0.1",
            network.gateway,
            network.kubernetes_service,
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        )
        serving = authority.issue("apiserver", "kube-apiserver", hosts=hosts, server=True)
        kubelet_serving = authority.issue("kubelet", NODE_NAME, hosts=(network.gateway, "127.0.0.1"), server=True)
        certs = {k: authority.issue(i.file, i.user, i.groups) for k, i in IDENTITIES.items()}
        local = f"https://127.0.0.1:{api_port}"
        for name, ident in IDENTITIES.items():
            config = kubeconfig(local, authority.ca_file, *certs[name], ident.user)
            path = self.root / f"{name}.kubeconfig"
            path.write_text(yaml.safe_dump(config))
            path.chmod(0o600)

        etcd = self._start(
            "etcd",
            [
                str(binaries / "etcd"),
                "--name",
                "default",
                "--data-dir",
                str(self.root / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
            ],
        )
        self._wait("health", lambda: _get(f"http://127.0.0.1:{etcd_port}/health") == 200, etcd, "etcd")

        apiserver = self._start(
            "kube-apiserver",
            [
                str(binaries / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=0.0.0.0",
                f"--secure-port={api_port}",
                f"--advertise-address={network.gateway}",
                f"--tls-cert-file={serving[0]}",
                f"--tls-private-key-file={serving[1]}",
                f"--client-ca-file={authority.ca_file}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                f"--service-cluster-ip-range={network.service_range}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,"
                "OwnerReferencesPermissionEnforcement,NodeRestriction",
                "--allow-privileged=true",
                "--kubelet-preferred-address-types=InternalIP",
                f"--kubelet-certificate-authority={authority.ca_file}",
                f"--kubelet-client-certificate={certs['apiserver-kubelet-client'][0]}",
                f"--kubelet-client-key={certs['apiserver-kubelet-client'][1]}",
                f"--cert-dir={self.root / 'pki' / 'generated'}",
                "--profiling=false",
                "--v=1",
            ],
        )
        context = ssl.create_default_context(cafile=str(authority.ca_file))
        admin_cert = certs["admin"]
        context.load_cert_chain(str(admin_cert[0]), str(admin_cert[1]))
        self._wait("/readyz", lambda: _get(f"{local}/readyz", context) == 200, apiserver, "kube-apiserver")

        self._start(
            "kube-controller-manager",
            [
                str(binaries / "kube-controller-manager"),
                f"--kubeconfig={self.root / 'controller-manager.kubeconfig'}",
                f"--authentication-kubeconfig={self.root / 'controller-manager.kubeconfig'}",
                f"--authorization-kubeconfig={self.root / 'controller-manager.kubeconfig'}",
                f"--service-account-private-key-file={sa_key}",
                f"--root-ca-file={authority.ca_file}",
                "--use-service-account-credentials=true",
                "--leader-elect=false",
                f"--secure-port={free_port()}",
                "--bind-address=127.0.0.1",
                f"--service-cluster-ip-range={network.service_range}",
                "--concurrent-gc-syncs=4",
                "--v=1",
            ],
        )
        self._start(
            "kube-scheduler",
            [
                str(binaries / "kube-scheduler"),
                f"--kubeconfig={self.root / 'scheduler.kubeconfig'}",
                f"--authentication-kubeconfig={self.root / 'scheduler.kubeconfig'}",
                f"--authorization-kubeconfig={self.root / 'scheduler.kubeconfig'}",
                "--leader-elect=false",
                f"--secure-port={free_port()}",
                "--bind-address=127.0.0.1",
                "--v=1",
            ],
        )
        node = self._start(
            "node",
            [
                sys.executable,
                "-m",
                "tests.controlplane.node",
                "--kubeconfig",
                str(self.root / "node.kubeconfig"),
                "--name",
                NODE_NAME,
                "--network-index",
                str(network.index),
                "--root",
                str(self.root / "node"),
                "--api-port",
                str(api_port),
                "--kubelet-port",
                str(kubelet_port),
                "--tls-cert",
                str(kubelet_serving[0]),
                "--tls-key",
                str(kubelet_serving[1]),
                "--ca",
                str(authority.ca_file),
                "--gpus",
                str(self.gpus),
                "--backoff",
                str(self.backoff),
                "--runtime",
                self.runtime,
            ],
            env={"PYTHONUNBUFFERED": "1"},
        )
        self._start(
            "loadbalancer",
            [
                sys.executable,
                "-m",
                "tests.controlplane.loadbalancer",
                "--kubeconfig",
                str(self.admin_kubeconfig),
                "--prefix",
                f"127.213.{network.index}",
                "--bridge",
                network.bridge,
                "--delay",
                str(self.lb_delay),
            ],
        )

        def node_ready() -> bool:
            try:
                with urllib.request.urlopen(f"{local}/api/v1/nodes/{NODE_NAME}", context=context, timeout=2) as answer:
                    status = json.load(answer).get("status") or {}
            except OSError:
                return False
            return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])

        self._wait("a Ready node", node_ready, node, "node")
        self._wait_for_default_service_account(local, context, node)

    def _wait_for_default_service_account(self, server: str, context: ssl.SSLContext, node: Any) -> None:
        """Pods cannot be made before the controller manager makes namespace `default`'s ServiceAccount."""
        url = f"{server}/api/v1/namespaces/default/serviceaccounts/default"
        self._wait("the default ServiceAccount", lambda: _get(url, context) == 200, node, "node")


def _get(url: str, context: ssl.SSLContext | None = None) -> int:
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
