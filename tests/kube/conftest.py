"""A whole cluster on this machine: fakekube (the API server), the real operator and in-cluster router as
processes, LocalKubelet running the inference pods, Azurite as the workspace's blob storage.

Started once per module: the operator, router and kubelet see every test's objects, as they would in a
cluster shared by several teams.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlk.render import names
from tests.conftest import REPO, Result, run_mlk, wait_http
from tests.fakekube import FakeKube
from tests.kube.kubelet import LocalKubelet
from tests.storage.conftest import azurite, free_port  # noqa: F401 - the session's Azurite

APP = REPO / "tests/local/app"
COMPUTE = "fake-k8s"
NAMESPACE = "ml-team"


@dataclass
class KubeEnv:
    fake: FakeKube
    kubeconfig: Path
    router_port: int
    logs: Path
    kubelet: LocalKubelet

    def mlk(self, *args: str, ok: bool = True) -> Result:
        result = run_mlk(*args, cwd=APP)
        if ok:
            assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[KubeEnv]:  # noqa: F811
    root = tmp_path_factory.mktemp("kube")
    saved = dict(os.environ)
    os.environ["MLK_HOME"] = str(root / "mlk-home")
    os.environ.pop("MLK_WORKSPACE", None)
    procs: list[subprocess.Popen[bytes]] = []
    with FakeKube(simulate_workloads=True, kubelet_labels={names.LABEL_COMPONENT: "inference-server"}) as fake:
        kubeconfig = fake.kubeconfig(root / "kubeconfig")
        os.environ["KUBECONFIG"] = str(kubeconfig)
        router_port, health_port = free_port(), free_port()
        try:
            create = run_mlk("workspace", "create", "kube-ws", "--storage-connection-string", azurite)
            assert create.exit_code == 0, create.stderr
            os.environ["MLK_WORKSPACE"] = "kube-ws"
            install = run_mlk(
                "extension",
                "install",
                "--config",
                "enableInference=True",
                "inferenceRouterServiceType=LoadBalancer",
                "allowInsecureConnections=True",
            )
            assert install.exit_code == 0, install.stderr
            os.environ["MLK_OPERATION_TIMEOUT"] = "60"  # a hung wait fails the test in a minute, not 20
            env = {"KUBECONFIG": str(kubeconfig), "MLK_SCORING_HOST": f"127.0.0.1:{router_port}"}
            operator_log = root / "operator.log"
            procs.append(
                _start(
                    [sys.executable, "-m", "mlk.operator", f"--liveness=http://127.0.0.1:{health_port}/healthz"],
                    operator_log,
                    env,
                )
            )
            wait_http(f"http://127.0.0.1:{health_port}/healthz", procs[-1], operator_log)
            router_log = root / "router.log"
            procs.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "mlk.router.cluster",
                        "--host",
                        "127.0.0.1",
                        "--http-port",
                        str(router_port),
                    ],
                    router_log,
                    env,
                )
            )
            wait_http(f"http://127.0.0.1:{router_port}/healthz", procs[-1], router_log)
            attach = run_mlk(
                "compute",
                "attach",
                "--type",
                "Kubernetes",
                "-n",
                COMPUTE,
                "--namespace",
                NAMESPACE,
                "--create-namespace",
            )
            assert attach.exit_code == 0, attach.stderr
            with LocalKubelet(kubeconfig, root / "pods", fake) as kubelet:
                yield KubeEnv(fake, kubeconfig, router_port, root, kubelet)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            os.environ.clear()
            os.environ.update(saved)
