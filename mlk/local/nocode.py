"""No-code MLflow deployments on this machine: an `mlflow_model` deployed without code_configuration runs
mlk's MLflow scoring script in an environment built from the model's own conda.yaml, as Azure generates
both for such a deployment. What is generated is defined once, in mlk.server.nocode.mlflow_env (Kubernetes
uses it too); this module applies it to the process runtime (a materialised model folder); the Docker
runtime and Kubernetes use mlk.workspace.nocode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlk.server.nocode import mlflow_env

SCRIPT_DIR = mlflow_env.SCRIPT_DIR
SCRIPT = mlflow_env.SCRIPT


def script_folder(assets_dir: Path) -> Path:
    """A copy of the scoring script in the workspace: the replica's working folder."""
    return mlflow_env.script_folder(assets_dir)


def environment(root: Path, name: str) -> dict[str, Any]:
    """An environment definition from the conda file of the MLflow model in folder `root`."""
    return mlflow_env.environment(mlflow_env.folder_files(root), name, where=str(root))
