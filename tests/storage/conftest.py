"""A real Azurite for the blob tests (started once per session), and stores of both kinds.

Azurite is Microsoft's Azure Storage emulator; BlobStore talks to it with the same SDK calls it makes to
Azure. It is installed by scripts/install-azurite into .tools/azurite (npm); without npm the blob tests
are skipped, and say why.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlk.lifetime import die_with_parent
from mlk.storage.base import Store
from mlk.storage.config import StorageConfig
from tests.conftest import REPO

AZURITE = REPO / ".tools/azurite/node_modules/.bin/azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> Path:
    """The azurite-blob launcher, installing it once if needed; skips the test when npm is missing."""
    if not AZURITE.exists():
        if shutil.which("npm") is None:
            pytest.skip("the blob storage tests need Azurite, installed with npm, and npm is not on PATH")
        done = subprocess.run([str(REPO / "scripts/install-azurite")], capture_output=True, text=True, check=False)
        if done.returncode != 0 or not AZURITE.exists():
            pytest.fail(f"scripts/install-azurite failed:\n{done.stdout}{done.stderr}")
    return AZURITE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_azurite(location: Path, port: int, log: Path, host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Start azurite-blob on `host`:`port` and wait until it answers (a few hundred ms)."""
    args = [str(azurite_binary()), "--blobHost", host, "--blobPort", str(port)]
    args += ["--location", str(location), "--skipApiVersionCheck", "--silent", "--disableTelemetry"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(  # dies with the test session, however it ends
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(die_with_parent, signal.SIGKILL, os.getpid()),  # noqa: PLW1509 - prctl only
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"azurite did not listen on port {port} within 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def connection_string(port: int, host: str = "127.0.0.1") -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Azurite for the whole session; yields its connection string."""
    root = tmp_path_factory.mktemp("azurite")
    port = free_port()
    proc = start_azurite(root / "data", port, root / "azurite.log")
    try:
        yield connection_string(port)
    finally:
        stop(proc)


@pytest.fixture
def blob_config(azurite: str) -> StorageConfig:
    """A fresh container (created by the store on its first write) for each test."""
    return StorageConfig(type="blob", connection_string=azurite, container=f"t-{uuid.uuid4().hex[:20]}")


@pytest.fixture(params=["local", "blob"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each backend in turn: the tests that take `store` must pass on both."""
    from mlk.storage import open_store

    if request.param == "local":
        config = StorageConfig(type="local", path=str(tmp_path / "store"))
    else:
        config = request.getfixturevalue("blob_config")
    with open_store(config) as opened:
        yield opened
