"""Benchmark: BlobStore's block-parallel upload beside the SDK's plain upload_blob, then a re-registration.

    .venv/bin/python scripts/bench_storage.py [--size-mb 200] [--runs 3]

Starts Azurite (scripts/install-azurite installs it) on a free port with its data in a temporary folder,
writes a random file, and uploads it `--runs` times each way, alternating, to fresh blob names:
BlobStore.put_file (4 MiB blocks, 4 staged at a time) and one `upload_blob(stream)` call with the SDK's
defaults (for a file this size: 4 MiB blocks, one at a time). Then registers the file through
mlk.storage.cas twice: the first time sends it, the second (unchanged) should send 0 bytes and, with
the hash cache, not read it again. Everything shares this machine's cores with Azurite (Node.js), which
writes every byte to disk, so absolute figures are the emulator's; the ratio is the point.
"""

from __future__ import annotations

import argparse
import functools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlk.storage.config import StorageConfig

REPO = Path(__file__).resolve().parents[1]
AZURITE = REPO / ".tools/azurite/node_modules/.bin/azurite-blob"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # Azurite's public key
MB = 1_000_000
PARALLEL = "BlobStore.put_file (4 MiB blocks, 4 in parallel, resumable)"
PLAIN = "SDK upload_blob(stream), defaults (one call)"
SDK4 = "SDK upload_blob(stream), max_concurrency=4 (for reference)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_azurite(location: Path, port: int) -> subprocess.Popen[bytes]:
    if not AZURITE.exists():
        subprocess.run([str(REPO / "scripts/install-azurite")], check=True)
    args = [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location)]
    location.mkdir(parents=True)
    with open(location / "azurite.log", "wb") as log:
        proc = subprocess.Popen(
            [*args, "--skipApiVersionCheck", "--silent", "--disableTelemetry"], stdout=log, stderr=log
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"azurite exited with {proc.returncode}")
            time.sleep(0.05)
    proc.kill()
    sys.exit("azurite did not start within 30 s")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from azure.storage.blob import ContainerClient

    from mlk.storage.blob import BlobStore
    from mlk.storage.cas import HashCache, hash_tree, upload_tree

    with tempfile.TemporaryDirectory(prefix="mlk-bench-storage-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        proc = start_azurite(tmp / "azurite", port)
        try:
            conn = (
                f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
                f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
            )
            config = StorageConfig(type="blob", connection_string=conn, container="bench")
            source = tmp / "model.bin"
            size = args.size_mb * MB
            with open(source, "wb") as f:
                for _ in range(args.size_mb):
                    f.write(os.urandom(MB))
            day_ago = time.time_ns() - 86_400 * 10**9  # a settled file: the hash cache may trust its mtime
            os.utime(source, ns=(day_ago, day_ago))

            store = BlobStore(config)
            sdk = ContainerClient.from_connection_string(conn, "bench")
            try:
                store.put_bytes("warm-up", b"x")  # creates the container, opens the connections
                runs: dict[str, list[float]] = {PARALLEL: [], PLAIN: [], SDK4: []}
                for run in range(args.runs):

                    def parallel(run: int = run) -> None:
                        store.put_file(f"parallel/{run}", source)

                    def plain(run: int = run, concurrency: int = 1) -> None:
                        with open(source, "rb") as stream:
                            sdk.upload_blob(f"sdk{concurrency}/{run}", stream, length=size, max_concurrency=concurrency)

                    runs[PARALLEL].append(timed(parallel))
                    runs[PLAIN].append(timed(plain))
                    runs[SDK4].append(timed(functools.partial(plain, run, 4)))
                    for name in (f"parallel/{run}", f"sdk1/{run}", f"sdk4/{run}"):
                        sdk.delete_blob(name)  # keep Azurite's disk use to one copy at a time

                cache = HashCache(tmp / "hashes.json")
                first_hash = timed(lambda: hash_tree(source, cache))
                manifest = hash_tree(source, cache)
                start = time.perf_counter()
                first = upload_tree(store, source, manifest)
                first_upload = time.perf_counter() - start
                start = time.perf_counter()
                again = upload_tree(store, source, hash_tree(source, HashCache(tmp / "hashes.json")))
                again_total = time.perf_counter() - start
            finally:
                store.close()
                sdk.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    medians = {name: statistics.median(times) for name, times in runs.items()}
    print(f"\nupload of {args.size_mb} MB (MB = 10^6 bytes) to Azurite, median of {args.runs} runs")
    print(f"{'method':<60} {'median s':>9} {'MB/s':>8} {'runs, s':>20}")
    for name, median in medians.items():
        each = ", ".join(f"{t:.2f}" for t in runs[name])
        print(f"{name:<60} {median:>9.2f} {size / MB / median:>8.1f} {each:>20}")
    print(f"{'ratio: BlobStore.put_file / SDK defaults':<60} {medians[PLAIN] / medians[PARALLEL]:>9.2f}x")
    print("\nregistration through mlk.storage.cas (hash, then upload what is missing)")
    print(f"{'':<28} {'bytes sent':>12} {'files sent':>11} {'skipped':>8} {'seconds':>8}")
    print(
        f"{'first (hash + upload)':<28} {first.bytes_sent:>12,} {first.files_sent:>11} {first.files_skipped:>8} "
        f"{first_hash + first_upload:>8.2f}"
    )
    print(
        f"{'again, unchanged':<28} {again.bytes_sent:>12,} {again.files_sent:>11} {again.files_skipped:>8} "
        f"{again_total:>8.2f}"
    )
    print(f"goal: 0 bytes the second time: {'met' if again.bytes_sent == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
