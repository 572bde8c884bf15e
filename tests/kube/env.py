"""A whole cluster on this machine: the real control plane (tests/controlplane: kube-apiserver, controller
manager, scheduler, etcd), `mlk extension install` putting the operator and router in as pods that the
node agent runs with their own ServiceAccount tokens, and Azurite as the workspace's blob storage, on the
pod network's gateway so that the pods' storage-initializer reaches it as the CLI does.

Started once per session: the operator, router and node see every test's objects, as in a cluster shared
by several teams.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Result, run_mlk
from tests.controlplane.fixture import ControlPlane
from tests.storage.conftest import connection_string, free_port, start_azurite, stop

APP = REPO / "tests/local/app"
COMPUTE = "test-k8s"
NAMESPACE = "ml-team"
SYSTEM = "mlk-system"
INSTALL = [
    "enableInference=True",
    "inferenceRouterServiceType=LoadBalancer",
    "allowInsecureConnections=True",
    "enableTraining=True",  # the AmlJob CRD and the operator's job controller
    "installVolcano=False",  # Volcano comes from its Helm chart, which the test cluster cannot fetch
]
"""The extension settings the flow tests install with."""


@dataclass
class KubeEnv:
    cluster: ControlPlane
    kubeconfig: Path
    root: Path

    def mlk(self, *args: str, ok: bool = True) -> Result:
        result = run_mlk(*args, cwd=APP)
        if ok:
            assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.cluster.objects(resource, namespace)

    def wait_for(self, what: str, check: Any, timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout:.0f} s\n{self.cluster.log('node')[-3000:]}")
            time.sleep(0.3)

    def pod_logs(self, namespace: str, selector: str, container: str) -> str:
        return self.cluster.kubectl("logs", "-n", namespace, "-l", selector, "-c", container, check=False).stdout


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory, control_plane: ControlPlane) -> Iterator[KubeEnv]:
    with kube_environment(control_plane, tmp_path_factory.mktemp("kube")) as env:
        yield env


@contextlib.contextmanager
def kube_environment(control_plane: ControlPlane, root: Path) -> Iterator[KubeEnv]:
    """The workspace (Azurite), the extension (INSTALL) and the compute attached, on `control_plane`; the
    process's environment points mlk at them until the block ends (scripts/bench_training.py uses it too)."""
    root.mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    os.environ["MLK_HOME"] = str(root / "mlk-home")
    os.environ.pop("MLK_WORKSPACE", None)
    os.environ["KUBECONFIG"] = str(control_plane.kubeconfig)
    port = free_port()
    azurite = start_azurite(root / "azurite", port, root / "azurite.log", host=control_plane.gateway)
    try:
        create = run_mlk(
            "workspace",
            "create",
            "kube-ws",
            "--storage-connection-string",
            connection_string(port, control_plane.gateway),
        )
        assert create.exit_code == 0, create.stderr
        os.environ["MLK_WORKSPACE"] = "kube-ws"
        os.environ["MLK_OPERATION_TIMEOUT"] = "120"  # a hung wait fails the test in two minutes, not 20
        control_plane.kubectl("apply", "-f", "-", stdin=json.dumps(tracking_volume(root / "tracking-volume")))
        install = run_mlk("extension", "install", "--config", *INSTALL, "--system-image", "mlk:test")
        assert install.exit_code == 0, install.stderr
        env = KubeEnv(control_plane, control_plane.kubeconfig, root)
        for name in ("mlk-operator", "mlk-router", "mlk-tracking"):
            env.wait_for(f"{name} ready", lambda n=name: _available(control_plane, n), timeout=120)
        attach = run_mlk(
            "compute", "attach", "--type", "Kubernetes", "-n", COMPUTE, "--namespace", NAMESPACE, "--create-namespace"
        )
        assert attach.exit_code == 0, attach.stderr
        yield env
    finally:
        stop(azurite)
        os.environ.clear()
        os.environ.update(saved)


def tracking_volume(folder: Path) -> dict[str, Any]:
    """The volume the tracking server's claim binds to, made beforehand as an administrator does for a
    cluster without a volume provisioner (the test cluster has none): a hostPath the node agent mounts."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "mlk-tracking-test"},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {"namespace": SYSTEM, "name": "mlk-tracking"},
            "hostPath": {"path": str(folder), "type": "DirectoryOrCreate"},
        },
    }


def _available(cluster: ControlPlane, name: str) -> bool:
    done = cluster.kubectl("get", "deployment", name, "-n", SYSTEM, "-o", "json", check=False)
    if done.returncode != 0:
        return False
    status = json.loads(done.stdout).get("status") or {}
    return int(status.get("availableReplicas") or 0) >= 1
