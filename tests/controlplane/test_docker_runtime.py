"""The node agent's Docker runtime: a pod's containers as Docker containers in the pod's network namespace,
volumes bound, init container first, probes, logs through the API server, an image pulled by digest from
the test registry, a missing image left in ImagePullBackOff, deletion removing every container."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.controlplane.fixture import ControlPlane, running

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _pod(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "initContainers": [
                {
                    "name": "fill",
                    "image": image,
                    "command": ["sh", "-c", "echo hello from $(POD) > /work/index.html"],
                    "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }
            ],
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "command": ["python3", "-m", "http.server", "8080", "-d", "/work"],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "work", "mountPath": "/work", "readOnly": True}],
                }
            ],
            "volumes": [{"name": "work", "emptyDir": {}}],
            "terminationGracePeriodSeconds": 5,
        },
    }


def _status(cluster: ControlPlane, name: str) -> dict[str, Any]:
    found = cluster.kubectl("get", "pod", name, "-o", "json", check=False)
    return json.loads(found.stdout).get("status", {}) if found.returncode == 0 else {}


def _wait(what: str, check: Any, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(1)
    return found


def _digest_in(registry: str, image: str) -> str:
    """Push `image` to the test registry; its reference there by digest."""
    target = f"{registry}/mlk-test/base:runtime"
    subprocess.run(["docker", "tag", image, target], check=True)
    subprocess.run(["docker", "push", target], check=True, capture_output=True)
    digests = json.loads(
        subprocess.run(["docker", "image", "inspect", target], check=True, capture_output=True, text=True).stdout
    )[0]["RepoDigests"]
    return next(d for d in digests if d.startswith(f"{registry}/"))


def test_pods_run_as_docker_containers(tmp_path: Path, base_image: str, registry: str) -> None:
    by_digest = _digest_in(registry, base_image)
    with running(tmp_path / "cluster", runtime="docker") as cluster:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(_pod("web", by_digest)))
        status = _wait(
            "web ready",
            lambda: (
                (s := _status(cluster, "web"))
                and any(c["type"] == "Ready" and c["status"] == "True" for c in s.get("conditions") or [])
                and s
            ),
        )
        with urllib.request.urlopen(f"http://{status['podIP']}:8080/", timeout=5) as answer:
            assert answer.read().decode().strip() == "hello from web"  # the init container wrote it
        assert "GET / HTTP/1.1" in cluster.kubectl("logs", "web").stdout

        missing = _pod("missing", f"{registry}/mlk-test/no-such-image:1")
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(missing))

        def waiting() -> str | None:
            for container in _status(cluster, "missing").get("initContainerStatuses") or []:
                reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
                if reason == "ImagePullBackOff":
                    return str(reason)
            return None

        assert _wait("ImagePullBackOff", waiting) == "ImagePullBackOff"
        cluster.kubectl("delete", "pod", "web", "missing", "--wait=true", "--timeout=120s")
        _wait("the pods' containers removed", lambda: not _pod_containers(), timeout=60)


def _pod_containers() -> list[str]:
    listed = ["docker", "ps", "-aq", "--filter", "label=mlk.dev/test-node-pod"]
    return subprocess.run(listed, capture_output=True, text=True, check=True).stdout.split()
