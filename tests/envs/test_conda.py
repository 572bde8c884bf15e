"""conda file → pip plan: spellings, renames, skipped packages, the pip: list, the Python version."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mlk.envs.conda import PipPlan, pip_plan
from mlk.envs.names import PYPI_NAMES, SERVED_BY_MLK
from tests.conftest import EXAMPLES

SERVED = "mlk serves score.py itself and provides azureml.contrib.services"


def plan_of(*dependencies: Any) -> PipPlan:
    return pip_plan({"name": "t", "channels": ["conda-forge"], "dependencies": list(dependencies)})


CONVERTED = [
    # plain names, renames and names kept
    ("numpy", "numpy"),
    ("pandas", "pandas"),
    ("scikit-learn", "scikit-learn"),
    ("pillow", "pillow"),
    ("pyyaml", "pyyaml"),
    ("lightgbm", "lightgbm"),
    ("pytorch", "torch"),
    ("pytorch-cpu", "torch"),
    ("py-xgboost", "xgboost"),
    ("tensorflow-gpu", "tensorflow"),
    ("py-opencv", "opencv-python-headless"),
    ("opencv", "opencv-python-headless"),
    ("matplotlib-base", "matplotlib"),
    ("ruamel_yaml", "ruamel.yaml"),
    ("PyTorch=2.4", "torch==2.4.*"),
    # versions: conda's `=` is a prefix match, `==` exact
    ("numpy=1.2", "numpy==1.2.*"),
    ("numpy=1", "numpy==1.*"),
    ("numpy=1.21.2", "numpy==1.21.2"),
    ("numpy=1.2.*", "numpy==1.2.*"),
    ("numpy=1.2*", "numpy==1.2.*"),
    ("numpy==1.2", "numpy==1.2"),
    ("numpy=1.21.2=py39h20f2e39_0", "numpy==1.21.2"),
    ("numpy==1.21.2=py39h20f2e39_0", "numpy==1.21.2"),
    ("numpy=1.2=py39_0", "numpy==1.2.*"),
    ("scipy=1.0rc1", "scipy==1.0rc1"),
    ("certifi=2023.7.22", "certifi==2023.7.22"),
    # ranges unchanged, spaces removed
    ("numpy>=1.2", "numpy>=1.2"),
    ("numpy>=1.2,<2", "numpy>=1.2,<2"),
    ("numpy >=1.2, <2", "numpy>=1.2,<2"),
    ("numpy!=1.3", "numpy!=1.3"),
    ("numpy~=1.2", "numpy~=1.2"),
    ("numpy<2", "numpy<2"),
    # MatchSpec's space form and brackets
    ("numpy 1.21.2", "numpy==1.21.2"),
    ("numpy 1.21.2 py39_0", "numpy==1.21.2"),
    ("numpy 1.21.*", "numpy==1.21.*"),
    ("numpy *", "numpy"),
    ("numpy[version='>=1.2']", "numpy>=1.2"),
    ('numpy[version="1.21.*"]', "numpy==1.21.*"),
    # channels
    ("conda-forge::numpy=1.2", "numpy==1.2.*"),
    ("pytorch::pytorch=2.4.0", "torch==2.4.0"),
    ("conda-forge/linux-64::pandas", "pandas"),
    ("some-internal-package=0.3", "some-internal-package==0.3.*"),
]


@pytest.mark.parametrize(("conda", "pip"), CONVERTED)
def test_conda_spec_to_pip_requirement(conda: str, pip: str) -> None:
    plan = plan_of(conda)
    assert plan.requirements == (pip,)
    assert plan.skipped == ()


SKIPPED = [
    ("pip", "installer tooling"),
    ("pip=23.1", "installer tooling"),
    ("setuptools", "installer tooling"),
    ("wheel", "installer tooling"),
    ("python", "interpreter"),
    ("python=3.8", "interpreter"),
    ("ca-certificates", "system library"),
    ("openssl=3.0", "system library"),
    ("tk", "system library"),
    ("xz", "system library"),
    ("zlib", "system library"),
    ("sqlite", "system library"),
    ("ncurses", "system library"),
    ("readline", "system library"),
    ("libffi", "system library"),
    ("bzip2", "system library"),
    ("tzdata", "system library"),
    ("libgcc-ng=11.2.0", "compiler"),
    ("libgcc", "compiler"),
    ("libstdcxx-ng", "compiler"),
    ("_libgcc_mutex=0.1=main", "compiler"),
    ("_openmp_mutex", "compiler"),
    ("intel-openmp", "compiler"),
    ("cudatoolkit=11.8", "CUDA"),
    ("cudnn", "CUDA"),
    ("nccl", "CUDA"),
    ("cuda-nvcc", "CUDA"),
    ("cuda-runtime=12.1", "CUDA"),
    ("pytorch-cuda=12.1", "CUDA"),
    ("nvidia::cuda-toolkit", "CUDA"),
    ("nvidia::libcublas", "CUDA"),
    ("nvidia::anything-at-all", "CUDA"),
    ("mkl", "BLAS"),
    ("mkl-service", "BLAS"),
    ("mkl_fft", "BLAS"),
    ("blas=1.0=mkl", "BLAS"),
    ("libblas", "BLAS"),
    ("liblapack", "BLAS"),
    ("__glibc", "virtual package"),
]


@pytest.mark.parametrize(("conda", "reason"), SKIPPED)
def test_packages_pip_does_not_need_are_skipped_with_a_reason(conda: str, reason: str) -> None:
    plan = plan_of(conda)
    assert plan.requirements == ()
    assert len(plan.skipped) == 1
    written, why = plan.skipped[0]
    assert written == conda
    assert reason in why


@pytest.mark.parametrize(
    "entry",
    [
        "azureml-defaults",
        "azureml-defaults==1.55.0",
        "azureml-defaults>=1.40",
        "azureml-inference-server-http",
        "azureml-inference-server-http~=1.0",
        "AzureML_Defaults",
        "azureml-defaults[extras] ; python_version >= '3.8'",
    ],
)
def test_azure_inference_server_is_skipped_because_mlk_serves(entry: str) -> None:
    plan = plan_of("python=3.11", {"pip": [entry, "joblib==1.5.2"]})
    assert plan.requirements == ("joblib==1.5.2",)
    assert (entry, SERVED) in plan.skipped


def test_other_azureml_packages_are_installed() -> None:
    plan = plan_of({"pip": ["azureml-core==1.55.0", "azureml-mlflow"]})
    assert plan.requirements == ("azureml-core==1.55.0", "azureml-mlflow")


def test_pip_list_is_taken_as_written_after_conda_packages() -> None:
    entries = [
        "inference-schema[numpy-support]",
        "joblib==1.5.2",
        "torch @ https://download.pytorch.org/whl/cpu/torch-2.1.0.whl",
        "pandas; python_version >= '3.9'",
        "git+https://github.com/user/repo@v1#egg=repo",
    ]
    plan = plan_of("numpy=2.2.6", {"pip": entries})
    assert plan.requirements == ("numpy==2.2.6", *entries)


def test_pip_wins_over_conda_for_the_same_package() -> None:
    plan = plan_of("numpy=1.26", "scikit-learn", {"pip": ["NumPy==2.2.6"]})
    assert plan.requirements == ("scikit-learn", "NumPy==2.2.6")
    assert any("numpy==1.26.*" in note and "pip wins" in note for note in plan.notes)


def test_pip_index_options_become_uv_options() -> None:
    plan = plan_of(
        {
            "pip": [
                "--extra-index-url https://download.pytorch.org/whl/cpu",
                "--index-url=https://mirror.example/simple",
                "--pre",
                "-r requirements.txt",
                "torch",
            ]
        }
    )
    assert plan.requirements == ("torch",)
    assert plan.options == (
        "--extra-index-url",
        "https://download.pytorch.org/whl/cpu",
        "--index-url",
        "https://mirror.example/simple",
        "--prerelease",
        "allow",
    )
    assert plan.skipped == (("-r requirements.txt", "pip option not supported in mlk's local environments"),)


@pytest.mark.parametrize(
    ("spec", "python", "python_range"),
    [
        ("python=3.11", "3.11", None),
        ("python=3.11.4", "3.11", None),
        ("python==3.11.4", "3.11", None),
        ("python=3.8.13=h12debd9_0", "3.8", None),
        ("python 3.10.*", "3.10", None),
        ("python=3.10.*", "3.10", None),
        ("conda-forge::python=3.12", "3.12", None),
        ("python=3", "3", None),
        ("python>=3.9", None, ">=3.9"),
        ("python >=3.9, <3.12", None, ">=3.9,<3.12"),
        ("python", None, None),
    ],
)
def test_python_version_request(spec: str, python: str | None, python_range: str | None) -> None:
    plan = plan_of(spec, "numpy")
    assert (plan.python, plan.python_range) == (python, python_range)
    assert plan.requirements == ("numpy",)


def test_no_python_no_dependencies() -> None:
    assert pip_plan({"name": "empty"}) == PipPlan(None, ())
    assert pip_plan({"dependencies": None}) == PipPlan(None, ())


def test_renames_are_noted() -> None:
    plan = plan_of("pytorch=2.4", "pandas")
    assert plan.notes == ("pytorch is torch on PyPI",)


def test_unknown_dependency_mappings_and_variables_are_noted() -> None:
    plan = pip_plan({"dependencies": [{"npm": ["left-pad"]}], "variables": {"A": "1"}})
    assert plan.requirements == ()
    assert any("npm" in note for note in plan.notes)
    assert any("variables" in note for note in plan.notes)


def test_example_conda_file() -> None:
    plan = pip_plan(yaml.safe_load((EXAMPLES / "environment" / "conda.yaml").read_text()))
    assert plan.python == "3.11"
    assert plan.requirements == (
        "numpy==2.2.6",
        "scikit-learn==1.7.2",
        "inference-schema[numpy-support]",
        "joblib==1.5.2",
    )
    assert [written for written, _ in plan.skipped] == ["python=3.11", "pip", "azureml-defaults"]


def test_azure_sample_conda_file() -> None:
    """The shape of Azure's own samples (azureml-examples, online endpoints)."""
    conda = yaml.safe_load(
        """
name: model-env
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.8.13
  - _libgcc_mutex=0.1=main
  - ca-certificates=2022.07.19=h06a4308_0
  - libgcc-ng=11.2.0=h1234567_1
  - numpy=1.21.2
  - pip=22.1.2
  - scikit-learn=0.24.2
  - scipy=1.7.1
  - pip:
    - azureml-defaults==1.43.0
    - inference-schema[numpy-support]==1.3.0
    - joblib==1.0.1
"""
    )
    plan = pip_plan(conda)
    assert plan.python == "3.8"
    assert plan.requirements == (
        "numpy==1.21.2",
        "scikit-learn==0.24.2",
        "scipy==1.7.1",
        "inference-schema[numpy-support]==1.3.0",
        "joblib==1.0.1",
    )
    assert len(plan.skipped) == 6


def test_tables_are_lower_case() -> None:
    assert all(name == name.lower() for name in PYPI_NAMES)
    assert all(name == name.lower() for name in SERVED_BY_MLK)


def test_plan_serialises() -> None:
    plan = plan_of("python=3.11", "numpy", {"pip": ["azureml-defaults"]})
    assert plan.to_dict() == {
        "python": "3.11",
        "requirements": ("numpy",),
        "skipped": (
            ("python=3.11", "the interpreter; it chooses the environment's Python version instead"),
            ("azureml-defaults", SERVED),
        ),
        "notes": (),
        "options": (),
        "python_range": None,
    }


@pytest.mark.parametrize(
    ("dependencies", "capped"),
    [
        (["python=3.11", "scikit-learn=1.2.2", "numpy"], True),  # conda would pick numpy 1.x for it
        ([{"pip": ["pandas==1.5.3"]}], True),
        (["torch=2.1"], True),
        (["scikit-learn=1.2.2", "numpy=1.26.4"], False),  # the file chose its numpy
        (["scikit-learn=1.2.2", {"pip": ["numpy<1.25"]}], False),
        (["scikit-learn=1.7.2", "numpy"], False),  # built for numpy 2
        (["scikit-learn>=1.0"], False),  # not a pin: the resolver may pick a numpy-2 release
    ],
)
def test_old_pins_built_for_numpy_1_keep_numpy_below_2(dependencies: list[object], capped: bool) -> None:
    plan = pip_plan({"dependencies": dependencies})
    assert ("numpy<2" in plan.requirements) is capped
    assert any("numpy<2 added" in note for note in plan.notes) is capped
