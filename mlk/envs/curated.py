"""Azure's curated environments that its training samples name, as definitions mlk can build. Pure data.

A job file written for Azure says `environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest` or
`azureml://registries/azureml/environments/sklearn-1.5/labels/latest`. Those images live in Azure's
registry; mlk builds an equivalent instead: a public AzureML base image with a conda environment holding
the framework the name promises, at the same minor version, and mlflow (not azureml-mlflow: mlk is the
tracking server). Every version of a curated name maps to the one definition here.

Python follows the name where the name says it (py37, py38, py39), even where that Python is old: a
sample's code may depend on it. Where the name does not say, Python 3.10 is used, which has wheels for
every package listed. GPU names get the CUDA base image; PyTorch and TensorFlow wheels bring their own
CUDA libraries, so the image's CUDA version need not match the name's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mlk.errors import UsageError

CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
PREFIX = "azureml-"
_REGISTRY = re.compile(
    r"azureml://registries/(?P<registry>[^/]+)/environments/(?P<name>[^/]+)(/(versions|labels)/[^/]+)?/?",
    re.IGNORECASE,
)
_WORKSPACE = re.compile(r"(azureml:)?(?P<name>[^:@/]+)([:@][^:@/]+)?", re.IGNORECASE)


def _env(python: str, packages: list[str], *, gpu: bool = False) -> dict[str, Any]:
    return {"python": python, "pip": [*packages, "mlflow"], "gpu": gpu}


# Azure's names (the workspace spelling, with the AzureML- prefix); the registry drops the prefix for
# the newer ones (sklearn-1.5), and both spellings find the same entry.
_CURATED: dict[str, dict[str, Any]] = {
    "AzureML-sklearn-1.5": _env("3.10", ["scikit-learn~=1.5.0", "pandas", "numpy", "scipy", "joblib"]),
    "AzureML-sklearn-1.1": _env("3.10", ["scikit-learn~=1.1.0", "pandas", "numpy<2", "scipy", "joblib"]),
    "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu": _env(
        "3.8", ["scikit-learn~=1.0.0", "pandas", "numpy<2", "scipy", "joblib"]
    ),
    "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu": _env(
        "3.7", ["scikit-learn~=0.24.0", "pandas", "numpy<2", "scipy", "joblib"]
    ),
    "AzureML-lightgbm-3.3": _env("3.10", ["lightgbm~=3.3.0", "scikit-learn", "pandas", "numpy<2", "scipy"]),
    "AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu": _env(
        "3.7", ["lightgbm~=3.2.0", "scikit-learn", "pandas", "numpy<2", "scipy"]
    ),
    "AzureML-ACPT-pytorch-2.2-cuda12.1": _env("3.10", ["torch~=2.2.0", "torchvision~=0.17.0", "numpy"], gpu=True),
    "AzureML-pytorch-1.10-ubuntu18.04-py38-cuda11-gpu": _env(
        "3.8", ["torch~=1.10.0", "torchvision~=0.11.0", "numpy<2"], gpu=True
    ),
    "AzureML-pytorch-1.9-ubuntu18.04-py37-cuda11-gpu": _env(
        "3.7", ["torch~=1.9.0", "torchvision~=0.10.0", "numpy<2"], gpu=True
    ),
    "AzureML-tensorflow-2.16-cuda12": _env("3.10", ["tensorflow~=2.16.0", "numpy<2"], gpu=True),
    "AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11-gpu": _env("3.7", ["tensorflow~=2.4.0"], gpu=True),
    "AzureML-minimal-ubuntu22.04-py39-cpu-inference": _env("3.9", []),
}
CURATED_NAMES: tuple[str, ...] = tuple(_CURATED)
_BY_KEY = {name.lower().removeprefix(PREFIX): name for name in _CURATED}


def _definition(name: str) -> dict[str, Any]:
    spec = _CURATED[name]
    return {
        "image": GPU_IMAGE if spec["gpu"] else CPU_IMAGE,
        "conda_file": {
            "name": name.lower(),
            "channels": ["conda-forge"],
            "dependencies": [f"python={spec['python']}", "pip", {"pip": copy.copy(spec["pip"])}],
        },
    }


def _curated_name(reference: str) -> str | None:
    """The environment name a reference gives, if it looks curated: Azure's registry, or AzureML-<...>."""
    text = reference.strip()
    registry = _REGISTRY.fullmatch(text)
    if registry:
        return registry["name"] if registry["registry"].lower() == "azureml" else None
    if text.lower().startswith("azureml://registries/azureml/"):
        raise UsageError(
            f"'{reference}' is not an environment in Azure's registry",
            hint="write azureml://registries/azureml/environments/<name>/versions/<n> (or /labels/latest)",
        )
    workspace = _WORKSPACE.fullmatch(text)
    if workspace and workspace["name"].lower().startswith(PREFIX):
        return workspace["name"]
    return None


def curated_definition(reference: str) -> dict[str, Any] | None:
    """The environment definition (image + conda_file) for a curated environment reference.

    None when the reference does not look curated (a workspace environment such as azureml:my-env:1);
    UsageError when it does but mlk does not know the name."""
    name = _curated_name(reference)
    if name is None:
        return None
    known = _BY_KEY.get(name.lower().removeprefix(PREFIX))
    if known is None:
        raise UsageError(
            f"'{name}' is not one of the curated environments mlk knows",
            hint="known: "
            + ", ".join(CURATED_NAMES)
            + "; or define the environment inline (image + conda_file) in the job file",
        )
    return _definition(known)
