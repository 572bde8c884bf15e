"""No-code MLflow deployments on this machine: an `mlflow_model` deployed without code_configuration runs
mlk's MLflow scoring script in an environment built from the model's own conda.yaml, as Azure generates
both for such a deployment. What is generated is defined once, in mlk.server.nocode.mlflow_env (Kubernetes
uses it too); this module applies it to the process runtime (a materialised model folder) and to the
Docker runtime (the script registered as the deployment's code, the model read from storage)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlk.errors import UsageError
from mlk.server.nocode import mlflow_env
from mlk.workspace import assets
from mlk.workspace.home import Workspace

SCRIPT_DIR = mlflow_env.SCRIPT_DIR
SCRIPT = mlflow_env.SCRIPT


def script_folder(assets_dir: Path) -> Path:
    """A copy of the scoring script in the workspace: the replica's working folder."""
    return mlflow_env.script_folder(assets_dir)


def registered_type(model: assets.Registered | None) -> str | None:
    """The type a model was registered with (mlflow_model, custom_model, ...)."""
    if model is None:
        return None
    return str((model.record or {}).get("type") or "") or None


def wanted(spec: Mapping[str, Any], model: assets.Registered | None) -> bool:
    """A deployment without code whose model is an MLflow model (inline type, or as registered)."""
    return model is not None and mlflow_env.is_mlflow(spec, registered_type(model))


def environment(root: Path, name: str) -> dict[str, Any]:
    """An environment definition from the conda file of the MLflow model in folder `root`."""
    return mlflow_env.environment(mlflow_env.folder_files(root), name, where=str(root))


def generated(
    ws: Workspace, spec: Mapping[str, Any], model: assets.Registered, say: Callable[[str], None]
) -> tuple[dict[str, Any], assets.Registered]:
    """For containers: (environment definition, the scoring script registered as the deployment's code).
    The deployment's own environment wins when it names one, as on the process runtime."""
    if spec.get("environment") is not None:
        definition = assets.deployment_environment(ws, spec, UsageError("no environment"))  # it has one
    else:
        with ws.store() as store:
            files = mlflow_env.stored_files(store, model.digest)
            base = mlflow_env.base_image(ws.config.get("build") or {})
            definition = mlflow_env.environment(files, model.name, where=model.reference, image=base)
    code = assets.register_tree(ws, "code", mlflow_env.CODE_FOLDER, None, mlflow_env.script_folder(ws.cache))
    say("no code_configuration: mlk's MLflow scoring script serves the model (as Azure's no-code deployment)")
    return definition, code
