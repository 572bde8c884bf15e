"""Run the fake API server standalone, to rehearse a flow by hand (kubectl-free: the Python client, kopf, mlk).

python -m tests.fakekube --port 8443 --kubeconfig /tmp/fake.kubeconfig [--simulate-workloads]
export KUBECONFIG=/tmp/fake.kubeconfig
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from tests.fakekube.server import FakeKube


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakekube", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="port to listen on (0: any free one; default 8443)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig (context 'fake') pointing here to this path")
    parser.add_argument("--kube-version", default="1.33", help="the Kubernetes version to validate against and report")
    parser.add_argument(
        "--simulate-workloads", action="store_true", help="create ready pods for deployments and daemon sets"
    )
    parser.add_argument("--endpoint-slices", action="store_true", help="maintain EndpointSlices for Services")
    args = parser.parse_args(argv)

    done = threading.Event()

    def finish(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    fake = FakeKube(
        args.host,
        args.port,
        args.kube_version,
        simulate_workloads=args.simulate_workloads,
        endpoint_slices=args.endpoint_slices,
    )
    url = fake.start()
    print(f"fake Kubernetes API server listening on {url}", flush=True)
    if args.kubeconfig:
        path = fake.kubeconfig(args.kubeconfig)
        print(f"kubeconfig written: export KUBECONFIG={path.resolve()}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
