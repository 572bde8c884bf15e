"""`mlk environment build --ca-cert FILE`: a build's own CA certificates in place of the workspace's, and
a missing or unreadable one refused before Docker is touched. No Docker: a fake engine records the build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlk.errors import UsageError
from mlk.images import dockerfile
from mlk.images.dockerfile import BuildContext
from mlk.images.engine import Engine
from mlk.workspace import builds
from mlk.workspace.home import open_workspace
from tests.conftest import run_mlk

BASE = "python:3.11-slim"
CA_IN_CONTEXT = f"{dockerfile.CTX_BUILD}/{dockerfile.CA}"


def pem(path: Path, body: str) -> Path:
    path.write_text(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
    return path


class FakeEngine:
    """The base image is here; every build succeeds and is remembered, as Docker would."""

    def __init__(self) -> None:
        self.images = {BASE: "sha256:base"}
        self.built: dict[str, BuildContext] = {}

    def image_id(self, reference: str) -> str | None:
        return self.images.get(reference)

    def build(self, context: BuildContext, tag: str, on_lines: Any = None) -> str:
        self.built[tag] = context
        self.images[tag] = f"sha256:{len(self.images)}"
        return self.images[tag]

    def tag(self, image: str, reference: str) -> None:
        self.images[reference] = image


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    return tmp_path


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(cls: type[Engine]) -> Engine:
        raise AssertionError("Docker was touched")

    monkeypatch.setattr(Engine, "connect", classmethod(refuse))


def environment_file(folder: Path) -> Path:
    (folder / "conda.yml").write_text("dependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    path = folder / "environment.yml"
    path.write_text(f"name: with-ca\nimage: {BASE}\nconda_file: conda.yml\n")
    return path


def definition() -> dict[str, Any]:
    conda = {"dependencies": ["python=3.11", {"pip": ["six"]}]}
    return {"name": "with-ca", "image": BASE, "conda_file": conda}


def test_a_builds_certificates_replace_the_workspaces(home: Path) -> None:
    workspace_ca = pem(home / "workspace-ca.pem", "WORKSPACE")
    own_ca = pem(home / "own-ca.pem", "OWN")
    assert run_mlk("workspace", "update", "--ca-cert", str(workspace_ca)).exit_code == 0
    ws = open_workspace()
    engine = FakeEngine()
    usual = builds.ensure_image(ws, definition(), say=lambda _: None, engine=engine)
    override = builds.ensure_image(ws, definition(), say=lambda _: None, ca_certs=[str(own_ca)], engine=engine)
    assert engine.built[usual.tag].files[CA_IN_CONTEXT] == workspace_ca.read_bytes()
    assert engine.built[override.tag].files[CA_IN_CONTEXT] == own_ca.read_bytes()  # the workspace's is not in it
    assert override.identity != usual.identity  # another image: the certificates are part of its identity
    again = builds.ensure_image(ws, definition(), say=lambda _: None, ca_certs=[str(own_ca)], engine=engine)
    assert again.reused and again.tag == override.tag


def a_key(folder: Path) -> Path:
    (folder / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n")
    return folder / "key.pem"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda folder: folder / "nowhere.pem", "No such file or directory"),
        (lambda folder: folder, "Is a directory"),
        (a_key, "not a PEM certificate file"),
    ],
    ids=["missing", "a folder", "not a certificate"],
)
def test_a_bad_certificate_is_refused_before_docker(home: Path, no_docker: None, make: Any, said: str) -> None:
    bad = make(home)
    result = run_mlk("environment", "build", "-f", str(environment_file(home)), "--ca-cert", str(bad))
    assert result.exit_code == 2, result.stderr
    assert f"--ca-cert {bad}: {said}" in result.stderr
    assert "Docker was touched" not in result.stderr


def test_a_workspace_certificate_gone_since_is_refused_before_docker(home: Path, no_docker: None) -> None:
    gone = pem(home / "gone.pem", "GONE")
    assert run_mlk("workspace", "update", "--ca-cert", str(gone)).exit_code == 0
    gone.unlink()
    with pytest.raises(UsageError) as caught:
        builds.ensure_image(open_workspace(), definition(), say=lambda _: None)
    assert caught.value.message == f"the workspace's CA certificate {gone}: No such file or directory"
    assert caught.value.hint is not None and "mlk workspace update --ca-cert FILE" in caught.value.hint
    # a build's own certificates stand in for the workspace's, so the stale one does not stop it
    own = pem(home / "own.pem", "OWN")
    built = builds.ensure_image(
        open_workspace(), definition(), say=lambda _: None, ca_certs=[str(own)], engine=FakeEngine()
    )
    assert not built.reused


def test_the_build_command_lists_the_option() -> None:
    result = run_mlk("environment", "build", "--help")
    assert result.exit_code == 0
    assert "--ca-cert" in result.stdout
