"""The operator's memory in a busy cluster: 500 pods that are not mlk's, on the real test control plane.

Contenders, one after the other against the same cluster and the same pods:
  selectors  mlk's operator as shipped (server-side label selectors: it lists and watches mlk's objects only)
  all-pods   the same operator with kopf's server-side selectors cleared (what it did before: every pod
             and Deployment of the cluster listed, watched and filtered in the process)
Each runs `python -m mlk.operator` on this machine with the admin kubeconfig while the 500 pods change
labels three times; its peak and final RSS are read from /proc.

    .venv/bin/python scripts/bench_operator.py [--pods 500]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.controlplane import build  # noqa: E402
from tests.controlplane.__main__ import start, stop  # noqa: E402
from tests.storage.conftest import free_port  # noqa: E402

CLEARED = """
import kopf, sys
from mlk.operator.__main__ import main

@kopf.on.startup()
def no_server_side_selectors(settings, **_):
    settings.watching.label_selectors.clear()

sys.exit(main())
"""


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    argv = [str(build.cache_folder() / "kubectl"), "--kubeconfig", str(kubeconfig), *args]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True).stdout


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def noise(kubeconfig: Path, count: int, round_: int) -> None:
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"noise-{i}", "namespace": "noise", "labels": {"app": "noise", "round": str(round_)}},
            "spec": {
                "nodeSelector": {"bench.mlk.dev/nowhere": "true"},  # never scheduled, never run
                "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "1"]}],
            },
        }
        for i in range(count)
    ]
    kubectl(
        kubeconfig,
        "apply",
        "--server-side",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}),
    )


def run(contender: str, kubeconfig: Path, pods: int) -> tuple[int, int]:
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "MLK_NAMESPACE": "mlk-system"}
    live = f"--liveness=http://127.0.0.1:{port}/healthz"
    argv = (
        [sys.executable, "-m", "mlk.operator", live]
        if contender == "selectors"
        else [sys.executable, "-c", CLEARED, live]
    )
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(8)
            for round_ in range(1, 4):  # every pod changes: an event each, for whoever watches them
                noise(kubeconfig, pods, round_)
                time.sleep(4)
            time.sleep(4)
            return rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=500)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mlk-bench-operator-"))
    kubeconfig = root / "kubeconfig"
    start(root / "cluster", kubeconfig, 0)
    try:
        manifests = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlk",
                "extension",
                "install",
                "--config",
                "enableInference=True",
                "inferenceRouterServiceType=ClusterIP",
                "allowInsecureConnections=True",
                "--dry-run",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "MLK_HOME": str(root / "home")},
        ).stdout
        import yaml

        crds = [
            d for d in yaml.safe_load_all(manifests) if d and d["kind"] in ("CustomResourceDefinition", "Namespace")
        ]
        kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": crds}))
        kubectl(kubeconfig, "create", "namespace", "noise")
        noise(kubeconfig, args.pods, 0)
        results = {name: run(name, kubeconfig, args.pods) for name in ("selectors", "all-pods")}
    finally:
        stop(root / "cluster")
    print(f"operator memory with {args.pods} unrelated pods (each changed 3 times), KiB:")
    for name, (rss, peak) in results.items():
        print(f"  {name:10} rss {rss:8,}  peak {peak:8,}")
    (a_rss, a_peak), (b_rss, b_peak) = results["selectors"], results["all-pods"]
    print(f"all-pods / selectors: rss {b_rss / a_rss:.2f}x, peak {b_peak / a_peak:.2f}x")


if __name__ == "__main__":
    main()
