"""Every implementation of mlk's `Compute` interface, as the one contract suite sees it: an endpoint home
that the same commands drive. `process` (the embedded default's agent and replica processes), `docker` (the
embedded default's Docker runtime) and `kube` (the real test control plane, with the operator and router
that `mlk extension install` puts in)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Result, run_mlk
from tests.local.conftest import APP

CONDA = Path(__file__).resolve().parent / "conda.yml"
TARGETS = [
    pytest.param("process", id="process"),
    pytest.param("docker", id="docker", marks=[pytest.mark.docker, pytest.mark.slow]),
    pytest.param("kube", id="kube", marks=pytest.mark.slow),
]


@dataclass
class Target:
    kind: str
    endpoint_sets: list[str] = field(default_factory=list)
    """--set words every endpoint create gets (where the endpoint goes)."""
    deployment_sets: list[str] = field(default_factory=list)
    """--set words every deployment create gets (the image the Docker runtime runs)."""
    made: list[str] = field(default_factory=list)

    def mlk(self, *args: str, ok: bool = True) -> Result:
        result = run_mlk(*args, cwd=APP)
        if ok:
            assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def endpoint(self, name: str) -> str:
        self.mlk("online-endpoint", "create", "-f", "endpoint.yml", "-n", name, *self._sets(self.endpoint_sets))
        self.made.append(name)
        return name

    def deployment(self, endpoint: str, file: str, *extra: str) -> None:
        self.mlk("online-deployment", "create", "-f", file, "-e", endpoint, *self._sets(self.deployment_sets), *extra)

    @staticmethod
    def _sets(words: list[str]) -> list[str]:
        return [a for w in words for a in ("--set", w)]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    kind = request.param
    if kind == "kube":
        from tests.kube.env import COMPUTE

        request.getfixturevalue("kube")  # the session's cluster, workspace and attached compute
        made = Target(kind, endpoint_sets=[f"compute=azureml:{COMPUTE}"])
    else:
        monkeypatch.setenv("MLK_HOME", str(tmp_path / "mlk-home"))
        monkeypatch.delenv("MLK_WORKSPACE", raising=False)
        made = Target(kind)
        if kind == "docker":
            from tests.docker_env import host_ca_certs

            base = str(request.getfixturevalue("base_image"))
            certs = [a for c in host_ca_certs() for a in ("--ca-cert", c)]
            made.mlk("workspace", "update", "--local-runtime", "docker", "--system-base-image", base, *certs)
            made.deployment_sets += [f"environment.image={base}", f"environment.conda_file={CONDA}"]
    yield made
    for name in made.made:
        with contextlib.suppress(Exception):
            made.mlk("online-endpoint", "delete", "-n", name, "--yes", ok=False)
    if kind != "kube":
        from tests.local.conftest import _kill_everything

        _kill_everything(tmp_path / "mlk-home")
