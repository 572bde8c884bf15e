"""Shared fixtures for the tests that need Docker (marker `docker`): the engine, a local Python base image
(scripts/make-base-image: nothing can be pulled on our machines), a local registry (Debian's
docker-registry), and the host's extra CA certificates for builds that reach PyPI through a proxy.

Without an engine the tests are skipped, unless MLK_REQUIRE_DOCKER=1 (CI sets it): then they fail.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlk.lifetime import die_with_parent
from tests.conftest import REPO

BASE_IMAGE = "mlk-base/python:3.11-bookworm"
HOST_CA = Path("/usr/local/share/ca-certificates")


def _missing(why: str) -> None:
    if os.environ.get("MLK_REQUIRE_DOCKER"):
        pytest.fail(f"MLK_REQUIRE_DOCKER is set but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[object]:
    from mlk.errors import MlkError
    from mlk.images.engine import Engine

    try:
        engine = Engine.connect()
    except MlkError as exc:
        _missing(f"no Docker engine: {exc.message}")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def base_image(docker_engine: object) -> str:
    done = subprocess.run(
        [str(REPO / "scripts/make-base-image"), BASE_IMAGE], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        _missing(f"scripts/make-base-image failed: {done.stderr[-500:]}")
    return BASE_IMAGE


def host_ca_certs() -> list[str]:
    """The host's extra CA certificates (an intercepting proxy's), which builds need to reach PyPI here."""
    return [str(p) for p in sorted(HOST_CA.glob("*.crt"))] if HOST_CA.is_dir() else []


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, docker_engine: object) -> Iterator[str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        _missing("docker-registry is not installed (apt-get install docker-registry)")
    from tests.storage.conftest import free_port

    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    with open(root / "registry.log", "wb") as log:
        proc = subprocess.Popen(  # dies with the test session, however it ends
            [str(binary), "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(die_with_parent, signal.SIGKILL, os.getpid()),  # noqa: PLW1509 - prctl only
        )
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
