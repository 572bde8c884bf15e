"""Environment images with a real Docker engine: built once, reused, pushed and pulled through a registry,
failures shown with their step; mlk's system image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_mlk
from tests.docker_env import host_ca_certs

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_image: str) -> str:
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    certs = [a for c in host_ca_certs() for a in ("--ca-cert", c)]
    result = run_mlk("workspace", "update", "--system-base-image", base_image, *certs)
    assert result.exit_code == 0, result.stderr
    return base_image


def mlk(*args: str) -> dict:
    result = run_mlk(*args, "-o", "json", cwd=EXAMPLES)
    assert result.exit_code == 0, f"{args}: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_example_environment_builds_once_then_is_found(ws: str, docker_engine) -> None:
    mlk("environment", "create", "-n", "sklearn-env", "--image", ws, "--conda-file", "environment/conda.yaml")
    earlier = mlk("environment", "build", "-n", "sklearn-env")  # this engine may have it from another test
    docker_engine.client.images.remove(earlier["tag"])
    first = mlk("environment", "build", "-n", "sklearn-env")
    assert first["builder"] == "fast" and first["reused"] is False
    assert "pip-installable" in first["reason"]
    again = mlk("environment", "build", "-n", "sklearn-env")
    assert again["reused"] is True and again["image"] == first["image"] and again["seconds"] < 2
    # the same definition under another name: the same image, no build
    mlk("environment", "create", "-n", "renamed", "-v", "7", "--image", ws, "--conda-file", "environment/conda.yaml")
    renamed = mlk("environment", "build", "-n", "renamed")
    assert renamed["reused"] is True and renamed["identity"] == first["identity"]
    shown = mlk("environment", "show", "-n", "sklearn-env")
    assert [i["reference"] for i in shown["images"]][-1].startswith("mlk-env/")


def test_push_then_pull_through_a_registry(ws: str, registry: str, docker_engine) -> None:
    mlk("workspace", "update", "--registry", registry)
    mlk("environment", "create", "-n", "sklearn-env", "--image", ws, "--conda-file", "environment/conda.yaml")
    pushed = mlk("environment", "build", "-n", "sklearn-env", "--push")
    reference = pushed["pushed"]
    assert reference.startswith(f"{registry}/mlk-env/sklearn-env@sha256:")
    docker_engine.client.images.remove(pushed["tag"].replace("mlk-env/", f"{registry}/mlk-env/"), force=True)
    docker_engine.pull(reference)  # what a node does with the CR's image
    assert docker_engine.image_id(reference) is not None
    again = mlk("environment", "build", "-n", "sklearn-env", "--push")
    assert again["pushed"] == reference and again["reused"] is True  # found in the registry: not pushed again


def test_a_failing_build_names_the_step_and_what_to_do(ws: str, tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("dependencies:\n  - python=3.11\n  - pip:\n    - mlk-no-such-package-anywhere==9.9\n")
    result = run_mlk("environment", "build", "-f", str(_environment(tmp_path, ws, conda)))
    assert result.exit_code != 0
    assert "step 5/8 (RUN set -e" in result.stderr and "failed" in result.stderr
    assert "mlk-no-such-package-anywhere" in result.stderr  # the step's own last lines
    assert "does not exist under that name" in result.stderr


def test_an_image_without_python_311_is_refused_with_the_reason(ws: str, tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("dependencies:\n  - python=3.9\n  - pip:\n    - six\n")
    result = run_mlk("environment", "build", "-f", str(_environment(tmp_path, ws, conda)))
    assert result.exit_code != 0
    assert "suitable Python" in result.stderr or "3.9" in result.stderr


def _environment(folder: Path, image: str, conda: Path) -> Path:
    path = folder / "environment.yml"
    path.write_text(f"name: broken\nimage: {image}\nconda_file: {conda.name}\n")
    return path


def test_a_build_context_is_built_as_written_then_gets_mlks_runtime(ws: str, tmp_path: Path, docker_engine) -> None:
    context = tmp_path / "docker"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {ws}\nCOPY greeting.txt /greeting.txt\n")
    (context / "greeting.txt").write_text("built from the user's own Dockerfile\n")
    environment = tmp_path / "environment.yml"
    environment.write_text("name: from-context\nbuild:\n  path: docker\n")
    built = mlk("environment", "build", "-f", str(environment))
    assert built["builder"] == "context"
    output = docker_engine.client.containers.run(
        built["image"],
        ["sh", "-c", 'cat /greeting.txt && "$MLK_PYTHON" -c "import mlk.server, httptools; print(1)"'],
        remove=True,
        network_mode="host",
    )
    assert output.decode().split() == ["built", "from", "the", "user's", "own", "Dockerfile", "1"]
