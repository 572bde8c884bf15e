"""The opt-in end-to-end suite: a real cluster, given with --kubeconfig (skipped otherwise).

    pytest tests/e2e --kubeconfig ~/.kube/config --e2e-image mlk:dev \
        --e2e-storage "DefaultEndpointsProtocol=http;AccountName=...;BlobEndpoint=http://HOST:10000/..."

The image must hold mlk (`mlk extension build-image`) and be pullable by the nodes (`kind load docker-image`);
the storage must be reachable from this machine (uploads) and from the pods (storage-initializer).
.github/workflows/kind.yml does all of it on kind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, Result, run_mlk


@dataclass
class Cluster:
    kubeconfig: str
    context: str | None
    image: str
    storage: str

    def mlk(self, *args: str, ok: bool = True, cwd: Path | None = None) -> Result:
        result = run_mlk(*args, cwd=cwd or REPO / "tests/e2e/app")
        if ok:
            assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Cluster]:
    kubeconfig = pytestconfig.getoption("--kubeconfig")
    if not kubeconfig:
        pytest.skip("the end-to-end suite runs against a real cluster: pass --kubeconfig (see tests/e2e/conftest.py)")
    storage = pytestconfig.getoption("--e2e-storage")
    if not storage:
        pytest.fail("--e2e-storage is needed with --kubeconfig: the pods fetch model and code from it")
    saved = dict(os.environ)
    os.environ["MLK_HOME"] = str(tmp_path_factory.mktemp("e2e-home"))
    os.environ["KUBECONFIG"] = str(kubeconfig)
    context = pytestconfig.getoption("--kube-context")
    try:
        yield Cluster(str(kubeconfig), context, str(pytestconfig.getoption("--e2e-image")), str(storage))
    finally:
        os.environ.clear()
        os.environ.update(saved)
