"""python -m tests.controlplane.node: the node agent, as the test cluster's supervisor starts it."""

from __future__ import annotations

import argparse

from tests.controlplane.cluster import RUNTIMES
from tests.controlplane.node.agent import main

parser = argparse.ArgumentParser(prog="python -m tests.controlplane.node")
parser.add_argument("--kubeconfig", required=True, help="the node's identity (system:node:NAME)")
parser.add_argument("--name", required=True)
parser.add_argument("--network-index", type=int, required=True, help="the pod network the supervisor made")
parser.add_argument("--root", required=True, help="folder for pods' volumes and logs")
parser.add_argument("--api-port", type=int, required=True, help="the API server's port, for pods")
parser.add_argument("--kubelet-port", type=int, required=True)
parser.add_argument("--tls-cert", required=True)
parser.add_argument("--tls-key", required=True)
parser.add_argument("--ca", required=True)
parser.add_argument("--cpus", default="16", help="the cpu capacity the Node reports")
parser.add_argument("--gpus", type=int, default=0, help="nvidia.com/gpu capacity to report (0: none)")
parser.add_argument("--backoff", type=float, default=10.0, help="first crash-loop back-off, seconds")
parser.add_argument(
    "--runtime",
    choices=RUNTIMES,
    default="process",
    help="containers as local processes, or as Docker containers",
)
parser.add_argument(
    "--pause-image",
    default="mlk-base/python:3.11-bookworm",
    help="the Docker runtime's sandbox image (it needs python3)",
)
main(parser.parse_args())
