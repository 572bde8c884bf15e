"""A kubelet for the fake API server: it really runs mlk's inference pods, as local processes.

fakekube marks pods Running and Ready but runs nothing. For the end-to-end flow that is not enough: the
storage-initializer must fetch the model and code from blob storage with the SAS in the pod's Secret, and
`mlk serve` must load score.py with the environment the pod spec sets. So for every pod of an inference
deployment this runs the init container's command, then the server's (the paths under /var/azureml-app
moved into a temporary folder, the port moved to a free one), and once GET / answers, publishes an
EndpointSlice for the pod's Service, as the EndpointSlice controller does (the Service's labels copied):
that is how the in-cluster router finds replicas. A pod that goes away takes its process and slice along.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from mlk.k8s.cluster import Cluster, ClusterRef
from mlk.render import names
from mlk.render.pod import APP_ROOT, SERVER_PORT

INFERENCE = f"{names.LABEL_COMPONENT}=inference-server"


def _free_port() -> int:
    from mlk.http.serve import bind

    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    sock.close()
    return port


class PodProcess:
    def __init__(self, cluster: Cluster, pod: dict[str, Any], logs: Path, fake: Any = None) -> None:
        self.fake = fake
        self.cluster, self.pod = cluster, pod
        self.namespace, self.name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.root = Path(tempfile.mkdtemp(prefix=f"pod-{self.name}-"))
        self.port = _free_port()
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.slice: str | None = None
        self.failed: str | None = None
        self.thread: threading.Thread | None = None

    def _env(self, container: dict[str, Any]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "MLK_"))}
        env["MLK_PYTHON"] = sys.executable  # what mlk's images set: the Python that has mlk
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"]).replace(APP_ROOT, str(self.root))
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                secret = self.cluster.get("v1", "Secret", ref["name"], self.namespace) or {}
                env[item["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        return env

    def _argv(self, container: dict[str, Any]) -> list[str]:
        argv = [*container.get("command", []), *container.get("args", [])]
        argv = [sys.executable if a == "python" else a.replace(APP_ROOT, str(self.root)) for a in argv]
        if "--port" in argv:
            argv[argv.index("--port") + 1] = str(self.port)
        if argv[:2] == ["/bin/sh", "-c"]:  # the server's start script: this port instead of the pod's 5001
            argv[2] = argv[2].replace(f"--port {SERVER_PORT}", f"--port {self.port}")
        return argv

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a bug here must show in the test, not vanish with the thread
            self.failed = f"the local kubelet failed: {exc!r}"
            raise

    def _run(self) -> None:
        spec = self.pod["spec"]
        for init in spec.get("initContainers") or []:
            with open(self.logs / f"{self.name}.{init['name']}.log", "wb") as log:
                done = subprocess.run(
                    self._argv(init), check=False, env=self._env(init), stdout=log, stderr=subprocess.STDOUT
                )
            if done.returncode != 0:
                self._fail(f"{init['name']} exited with {done.returncode}")
                return
        server = next(c for c in spec["containers"] if c["name"] == "inference-server")
        with open(self.logs / f"{self.name}.{server['name']}.log", "wb") as log:  # the process keeps its own copy
            self.process = subprocess.Popen(
                self._argv(server), env=self._env(server), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        if self.process.poll() is not None:
            self._fail(f"inference-server exited with {self.process.returncode}")
            return
        self.publish()
        if self.fake is not None:
            self.fake.set_pod_ready(self.namespace, self.name, True)

    def _fail(self, why: str) -> None:
        """What a kubelet shows when a container keeps failing: its log, and the pod in CrashLoopBackOff."""
        self.failed = why
        self.publish_logs()
        if self.fake is not None:
            labels = self.pod["metadata"].get("labels") or {}
            workload = names.deployment_object_name(labels[names.LABEL_ENDPOINT], labels[names.LABEL_DEPLOYMENT])
            self.fake.fail_deployment(self.namespace, workload, "CrashLoopBackOff", why)

    def publish_logs(self) -> None:
        """The containers' output as the API server's pod logs (kubectl logs, mlk get-logs)."""
        if self.fake is None:
            return
        for container in ("storage-initializer", "inference-server"):
            log = self.logs / f"{self.name}.{container}.log"
            if log.exists():
                self.fake.set_pod_log(self.namespace, self.name, container, log.read_text(errors="replace"))

    def publish(self) -> None:
        labels = self.pod["metadata"].get("labels") or {}
        service_name = names.deployment_object_name(labels[names.LABEL_ENDPOINT], labels[names.LABEL_DEPLOYMENT])
        service = self.cluster.get("v1", "Service", service_name, self.namespace) or {"metadata": {}}
        self.slice = f"{service_name}-{self.name.rsplit('-', 1)[-1]}"[:63]
        self.cluster.apply(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": self.slice,
                    "namespace": self.namespace,
                    "labels": {
                        **(service["metadata"].get("labels") or {}),
                        "kubernetes.io/service-name": service_name,
                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    },
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": self.port, "protocol": "TCP"}],
                "endpoints": [
                    {
                        "addresses": ["127.0.0.1"],
                        "conditions": {"ready": True},
                        "targetRef": {"kind": "Pod", "name": self.name, "namespace": self.namespace},
                    }
                ],
            }
        )

    def stop(self) -> None:
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(70)  # let a start in progress finish, so its process is not left behind
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.slice:
            self.cluster.delete("discovery.k8s.io/v1", "EndpointSlice", self.slice, self.namespace)
        shutil.rmtree(self.root, ignore_errors=True)


class LocalKubelet:
    """Runs every inference pod it finds (polling), stops those that are gone."""

    def __init__(self, kubeconfig: Path, logs: Path, fake: Any = None) -> None:
        self.fake = fake
        self.cluster = Cluster(ClusterRef(str(kubeconfig), None))
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.pods: dict[tuple[str, str], PodProcess] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> LocalKubelet:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(10)
        for pod in list(self.pods.values()):
            pod.stop()
        self.cluster.close()

    def _loop(self) -> None:
        while not self.stopping.wait(0.2):
            found = {
                (p["metadata"]["namespace"], p["metadata"]["name"]): p
                for p in self.cluster.list("v1", "Pod", None, label_selector=INFERENCE)
                if not p["metadata"].get("deletionTimestamp")
            }
            for key in set(self.pods) - set(found):
                self.pods.pop(key).stop()
            for key in set(found) - set(self.pods):
                process = PodProcess(self.cluster, found[key], self.logs, self.fake)
                self.pods[key] = process
                process.thread = threading.Thread(target=process.run, daemon=True)
                process.thread.start()

    def publish_logs(self) -> None:
        for pod in list(self.pods.values()):
            pod.publish_logs()

    def failures(self) -> dict[str, str]:
        return {name: p.failed for (_, name), p in self.pods.items() if p.failed}
