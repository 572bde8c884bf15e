"""The storage-initializer: model and code land in Azure's layout, and never replace each other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlk.render.pod import RESERVED, code_folder, server_env
from mlk.storage import initializer, open_store
from mlk.storage.cas import hash_tree, upload_tree
from mlk.storage.config import StorageConfig

SCORE = b"def init():\n    pass\n\n\ndef run(data):\n    return data\n"


def _upload(config: StorageConfig, path: Path) -> str:
    manifest = hash_tree(path)
    with open_store(config) as store:
        upload_tree(store, path, manifest)
    return manifest.digest


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def config(tmp_path: Path) -> StorageConfig:
    return StorageConfig(type="local", path=str(tmp_path / "store"))


@pytest.mark.parametrize("code_name", ["onlinescoring", *sorted(RESERVED)])
def test_model_and_code_never_collide(tmp_path: Path, config: StorageConfig, code_name: str) -> None:
    (tmp_path / "src" / "model").mkdir(parents=True)
    (tmp_path / "src" / "model" / "weights.bin").write_bytes(b"w" * 100)
    (tmp_path / "src" / code_name).mkdir()
    (tmp_path / "src" / code_name / "score.py").write_bytes(SCORE)
    model = _upload(config, tmp_path / "src" / "model")
    code = _upload(config, tmp_path / "src" / code_name)
    dest = tmp_path / "azureml-app"

    for _ in range(2):  # a restarted pod runs the initializer again over what it left
        initializer.fetch(config, dest, model, code)
        assert _tree(dest / "azureml-models" / model) == {"model/weights.bin": b"w" * 100}
        app_root = dest / code_folder(code_name)
        assert _tree(app_root) == {"score.py": SCORE}
        assert (app_root == dest / code_name) is (code_name not in RESERVED)
        leftovers = {p.name for p in dest.iterdir()} - {"azureml-models", "azureml-code", code_name}
        assert leftovers == set()

    # the pod's AML_APP_ROOT names the folder the initializer filled
    deployment = {
        "code_configuration": {"code": code_name, "scoring_script": "score.py"},
        "runtime": {"code": {"digest": code, "name": code_name}, "model": {"digest": model, "name": "model"}},
    }
    env = {e["name"]: e["value"] for e in server_env("ep", deployment)}
    assert env["AML_APP_ROOT"] == f"/var/azureml-app/{code_folder(code_name)}"
    assert env["AZUREML_MODEL_DIR"] == f"/var/azureml-app/azureml-models/{model}"


def test_main_reads_the_storage_config(tmp_path: Path, config: StorageConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "azureml-models").mkdir()
    (tmp_path / "azureml-models" / "score.py").write_bytes(SCORE)
    (tmp_path / "m.bin").write_bytes(b"m")
    model, code = _upload(config, tmp_path / "m.bin"), _upload(config, tmp_path / "azureml-models")
    monkeypatch.setenv(initializer.CONFIG_ENV, json.dumps({"type": "local", "path": config.path}))
    dest = tmp_path / "app"
    assert initializer.main(["--model", model, "--code", code, "--dest", str(dest)]) == 0
    assert _tree(dest) == {f"azureml-models/{model}/m.bin": b"m", "azureml-code/azureml-models/score.py": SCORE}


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x"])
def test_unsafe_code_folder_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain folder name"):
        code_folder(name)


@pytest.mark.parametrize("script", ["../x.py", "/etc/passwd", "a/../../x.py", "C:\\x.py"])
def test_the_pod_refuses_a_scoring_script_out_of_its_code(script: str) -> None:
    deployment = {"code_configuration": {"code": "src", "scoring_script": script}}
    with pytest.raises(ValueError, match=r"scoring_script: .*(outside the code folder|absolute path)"):
        server_env("ep", deployment)
