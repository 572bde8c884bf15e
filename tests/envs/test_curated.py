"""Curated environments: every spelling Azure's samples use resolves to one buildable definition."""

from __future__ import annotations

import pytest

from mlk.envs.curated import CPU_IMAGE, CURATED_NAMES, GPU_IMAGE, curated_definition
from mlk.errors import UsageError


@pytest.mark.parametrize(
    "reference",
    [
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
        "azureml://registries/azureml/environments/sklearn-1.5/versions/52",
        "azureml://registries/azureml/environments/AzureML-sklearn-1.5/versions/3",
        "azureml:AzureML-sklearn-1.5:3",
        "azureml:AzureML-sklearn-1.5@latest",
        "AzureML-sklearn-1.5",
        "azureml-SKLEARN-1.5",
    ],
)
def test_every_spelling_of_a_curated_name_gives_the_same_definition(reference: str) -> None:
    definition = curated_definition(reference)
    assert definition == curated_definition("AzureML-sklearn-1.5")
    assert definition is not None and definition["image"] == CPU_IMAGE
    conda = definition["conda_file"]
    assert conda["channels"] == ["conda-forge"]
    assert conda["dependencies"][:2] == ["python=3.10", "pip"]
    pip = conda["dependencies"][2]["pip"]
    assert "scikit-learn~=1.5.0" in pip and "mlflow" in pip and "azureml-mlflow" not in pip


def test_the_samples_names_are_known() -> None:
    for reference in (
        "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest",
        "azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:9",
        "azureml:AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu:11",
        "azureml://registries/azureml/environments/lightgbm-3.3/labels/latest",
        "azureml://registries/azureml/environments/acpt-pytorch-2.2-cuda12.1/labels/latest",
        "azureml:AzureML-pytorch-1.9-ubuntu18.04-py37-cuda11-gpu:6",
        "azureml:AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11-gpu:14",
        "azureml://registries/azureml/environments/minimal-ubuntu22.04-py39-cpu-inference/versions/1",
    ):
        assert curated_definition(reference) is not None, reference


def test_python_follows_the_name_and_gpu_names_get_the_cuda_image() -> None:
    old = curated_definition("AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")
    assert old is not None and old["conda_file"]["dependencies"][0] == "python=3.8"
    gpu = curated_definition("azureml:AzureML-pytorch-1.9-ubuntu18.04-py37-cuda11-gpu:6")
    assert gpu is not None and gpu["image"] == GPU_IMAGE
    assert gpu["conda_file"]["dependencies"][0] == "python=3.7"


def test_definitions_are_copies() -> None:
    first = curated_definition("AzureML-lightgbm-3.3")
    assert first is not None
    first["conda_file"]["dependencies"][2]["pip"].append("changed")
    second = curated_definition("AzureML-lightgbm-3.3")
    assert second is not None and "changed" not in second["conda_file"]["dependencies"][2]["pip"]


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:my-env:1",
        "azureml:sklearn-env@latest",
        "my-env",
        "azureml://registries/my-registry/environments/sklearn-1.5/versions/1",
    ],
)
def test_workspace_and_other_registry_environments_are_not_curated(reference: str) -> None:
    assert curated_definition(reference) is None


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:AzureML-sklearn-9.9:1",
        "AzureML-Minimal",
        "azureml://registries/azureml/environments/mldesigner/versions/19",
        "azureml://registries/azureml/models/sklearn-1.5",
    ],
)
def test_unknown_curated_names_are_usage_errors_naming_the_known_ones(reference: str) -> None:
    with pytest.raises(UsageError) as caught:
        curated_definition(reference)
    assert caught.value.hint is not None
    if "models" not in reference:
        assert "AzureML-sklearn-1.5" in caught.value.hint


def test_names_are_listed() -> None:
    assert "AzureML-sklearn-1.5" in CURATED_NAMES
    assert 6 <= len(CURATED_NAMES) <= 15
    assert all(name.lower().startswith("azureml-") for name in CURATED_NAMES)
