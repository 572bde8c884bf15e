"""`python -m mlk.storage.jobinit`: the storage-initializer of a command job's pods (mlk.render.jobs).

It materialises the code snapshot at <dest>/code and each data input at <dest>/inputs/<name>
(content-addressed manifests, verified by SHA-256), makes <dest>/outputs/<name> for each output, and
writes <dest>/.mlk/rendezvous.env with MASTER_ADDR: rank 0's pod IP, which rank 0 publishes in the
workspace's storage (jobs/<job>/rendezvous/<run>.json) and the other ranks wait for. The exchange goes
through storage because every pod reaches it, DNS for pods or not (the test node has none); `run` (the
AmlJob's uid) keeps an earlier run of the same name from answering.

Environment: MLK_STORAGE_CONFIG (the job's storage Secret), NODE_RANK, MLK_POD_IP (the downward API).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from mlk.errors import ExternalError, MlkError
from mlk.storage import open_store
from mlk.storage.base import Store, check_key
from mlk.storage.cas import load_manifest, materialize
from mlk.storage.config import StorageConfig
from mlk.storage.initializer import report
from mlk.storage.jobkeys import JOBS_PREFIX

CONFIG_ENV = "MLK_STORAGE_CONFIG"
STATE = ".mlk"
RENDEZVOUS_FILE = "rendezvous.env"
RENDEZVOUS_WAIT_S = 600.0
"""How long a rank waits for rank 0's address: rank 0's pod may be pulling its image, or waiting for a node."""


def rendezvous_key(job: str, run: str) -> str:
    return check_key(f"{JOBS_PREFIX}/{job}/rendezvous/{run}.json")


def place(store: Store, digest: str, target: Path, state: Path) -> str:
    """The tree `digest` names, at `target`: a folder's content, or a file inside it."""
    manifest = load_manifest(store, digest)
    staged = materialize(store, manifest, state / "staging", state / "cache")
    source = staged / manifest.name if manifest.kind == "folder" else staged
    if target.exists():  # a restarted init container's earlier copy
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), target)
    return f"{digest[:12]} -> {target}"


def master_address(store: Store, key: str, rank: int, instances: int, own_ip: str, wait_s: float) -> str:
    """Rank 0's address as every rank should use it; rank 0 publishes it first."""
    if instances <= 1:
        return "127.0.0.1"
    if rank == 0:
        if not own_ip:
            raise MlkError("rank 0 does not know its pod IP (MLK_POD_IP is empty)")
        store.put_bytes(key, json.dumps({"addr": own_ip}).encode())
        return own_ip
    deadline = time.monotonic() + wait_s
    while not store.exists(key):
        if time.monotonic() > deadline:
            raise ExternalError(f"rank 0 did not publish its address within {wait_s:.0f} s ({key})")
        time.sleep(0.5)
    return str(json.loads(store.get_bytes(key))["addr"])


def prepare(
    config: StorageConfig, dest: Path, args: argparse.Namespace, rank: int, own_ip: str, wait_s: float
) -> list[str]:
    """Everything the training container needs under `dest`; what it did, one line each."""
    done = []
    state = dest / STATE
    state.mkdir(parents=True, exist_ok=True)
    with open_store(config) as store:
        started = time.perf_counter()
        if args.code:
            done.append("code " + place(store, args.code, dest / "code", state))
        else:
            (dest / "code").mkdir(parents=True, exist_ok=True)
        for item in args.input:
            name, _, digest = item.partition("=")
            done.append(f"input {name} " + place(store, digest, dest / "inputs" / name, state))
        for name in args.output:
            (dest / "outputs" / name).mkdir(parents=True, exist_ok=True)
        if args.code or args.input:
            done.append(f"fetched in {time.perf_counter() - started:.2f} s")
        shutil.rmtree(state / "cache", ignore_errors=True)
        shutil.rmtree(state / "staging", ignore_errors=True)
        key = rendezvous_key(args.job, args.run)
        master = master_address(store, key, rank, args.instances, own_ip, wait_s)
    (state / RENDEZVOUS_FILE).write_text(f"MASTER_ADDR={master}\n", encoding="utf-8")
    done.append(f"rank {rank} of {args.instances}: MASTER_ADDR={master}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlk.storage.jobinit", description=__doc__)
    parser.add_argument("--job", required=True)
    parser.add_argument("--run", required=True, help="this run's id (the AmlJob's uid)")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--code", help="digest of the code snapshot's manifest")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=DIGEST")
    parser.add_argument("--output", action="append", default=[], metavar="NAME")
    parser.add_argument("--dest", default="/mnt/azureml")
    args = parser.parse_args(argv)
    rank = int(os.environ.get("NODE_RANK") or 0)
    pod_ip = os.environ.get("MLK_POD_IP", "")
    return report(lambda config: prepare(config, Path(args.dest), args, rank, pod_ip, RENDEZVOUS_WAIT_S))


if __name__ == "__main__":
    sys.exit(main())
