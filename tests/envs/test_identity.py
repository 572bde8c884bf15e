"""Environment identity: what changes it (definition) and what does not (names, layout of the YAML)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from mlk.envs.identity import build_context_files, environment_identity, identity_of_spec, read_conda
from mlk.errors import NotFoundError, SpecError
from tests.conftest import EXAMPLES

CONDA = {
    "name": "model-env",
    "channels": ["conda-forge"],
    "dependencies": ["python=3.11", "numpy=2.2.6", "pip", {"pip": ["joblib==1.5.2"]}],
}
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


def env(**fields: Any) -> dict[str, Any]:
    return {"name": "env", "version": "1", "image": IMAGE, **fields}


def test_is_a_sha256_hex() -> None:
    identity = environment_identity(env(), CONDA, None)
    assert len(identity) == 64
    assert int(identity, 16) >= 0


@pytest.mark.parametrize(
    "other",
    [
        {"name": "another"},
        {"version": "7"},
        {"description": "for the blue deployment"},
        {"tags": {"team": "fraud"}},
        {"properties": {"x": "y"}},
        {"conda_file": "/somewhere/else/conda.yaml"},
        {"os_type": "Linux"},
    ],
    ids=lambda o: next(iter(o)),
)
def test_names_versions_and_paths_do_not_count(other: dict[str, Any]) -> None:
    assert environment_identity(env(**other), CONDA, None) == environment_identity(env(), CONDA, None)


def test_conda_key_order_and_yaml_layout_do_not_count(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "name: model-env\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy=2.2.6\n"
        "  - pip\n  - pip:\n      - joblib==1.5.2\n"
    )
    (tmp_path / "b.yaml").write_text(
        "# reordered, other quoting and spacing\ndependencies: ['python=3.11', \"numpy=2.2.6\", pip,\n"
        "  {pip: [joblib==1.5.2]}]\nchannels:\n- conda-forge\nname:   model-env\n"
    )
    a = identity_of_spec(env(conda_file=str(tmp_path / "a.yaml")))
    b = identity_of_spec(env(conda_file=str(tmp_path / "b.yaml"), name="other", version="2"))
    assert a == b == environment_identity(env(), CONDA, None)


def test_inline_conda_equals_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "conda.yaml").write_text((EXAMPLES / "environment" / "conda.yaml").read_text())
    inline = read_conda({"conda_file": str(EXAMPLES / "environment" / "conda.yaml")})
    assert identity_of_spec(env(conda_file=str(tmp_path / "conda.yaml"))) == identity_of_spec(
        MappingProxyType(env(conda_file=MappingProxyType(inline or {})))
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["dependencies"].__setitem__(1, "numpy=2.2.5"),
        lambda c: c["dependencies"][3]["pip"].append("six"),
        lambda c: c["dependencies"].reverse(),
        lambda c: c.__setitem__("channels", ["defaults"]),
    ],
    ids=["package-version", "pip-package-added", "order", "channel"],
)
def test_a_changed_package_changes_it(change: Any) -> None:
    import copy

    changed = copy.deepcopy(CONDA)
    change(changed)
    assert environment_identity(env(), changed, None) != environment_identity(env(), CONDA, None)


def test_image_conda_and_inference_config_count() -> None:
    base = environment_identity(env(), CONDA, None)
    assert environment_identity(env(image="python:3.11-slim"), CONDA, None) != base
    assert environment_identity(env(), None, None) != base
    routes = {"liveness_route": {"path": "/", "port": 5001}}
    assert environment_identity(env(inference_config=routes), CONDA, None) != base
    assert environment_identity(env(os_type="windows"), CONDA, None) != base


def _context(root: Path) -> dict[str, Any]:
    (root / "sub").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install six\n")
    (root / "sub" / "requirements.txt").write_text("six\n")
    return {"name": "ctx", "build": {"path": str(root), "dockerfile_path": "Dockerfile"}}


def test_build_context_files_are_hashed_by_relative_path(tmp_path: Path) -> None:
    spec = _context(tmp_path / "ctx")
    files = build_context_files(spec)
    assert files is not None
    assert sorted(files) == ["Dockerfile", "sub/requirements.txt"]
    moved = _context(tmp_path / "elsewhere" / "ctx")
    assert identity_of_spec({**moved, "name": "other"}) == identity_of_spec(
        spec
    )  # the folder's location does not count


def test_build_context_file_change_changes_it(tmp_path: Path) -> None:
    spec = _context(tmp_path / "ctx")
    before = identity_of_spec(spec)
    (tmp_path / "ctx" / "sub" / "requirements.txt").write_text("six==1.17.0\n")
    after_edit = identity_of_spec(spec)
    (tmp_path / "ctx" / "extra.txt").write_text("")
    after_add = identity_of_spec(spec)
    assert len({before, after_edit, after_add}) == 3
    renamed = {**spec, "build": {**spec["build"], "dockerfile_path": "sub/Dockerfile"}}
    assert identity_of_spec(renamed) != after_add


def test_example_environment_reads_its_conda_file() -> None:
    from mlk.specs import load_spec

    data = load_spec(EXAMPLES / "blue.yml").data["environment"]
    conda = read_conda(data)
    assert conda is not None
    assert conda["name"] == "model-env"
    assert identity_of_spec(data) == environment_identity(data, conda, None)


def test_unreadable_conda_files_raise_mlk_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_conda({"conda_file": str(tmp_path / "missing.yaml")})
    (tmp_path / "bad.yaml").write_text("dependencies: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        read_conda({"conda_file": str(tmp_path / "bad.yaml")})
    (tmp_path / "list.yaml").write_text("- numpy\n")
    with pytest.raises(SpecError, match="not a mapping"):
        read_conda({"conda_file": str(tmp_path / "list.yaml")})
    with pytest.raises(NotFoundError, match="not a folder"):
        build_context_files({"build": {"path": str(tmp_path / "nowhere")}})
