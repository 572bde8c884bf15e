"""A no-code MLflow deployment for the runtimes that run images (the Docker runtime, Kubernetes): the
environment (the deployment's own, else one built from the model's conda file, read from storage) and the
code (mlk's MLflow scoring script, registered as the deployment's code), as mlk.server.nocode.mlflow_env
defines them. The process runtime applies the same definitions to a materialised folder (mlk.local.nocode)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import UsageError
from mlk.server.nocode import mlflow_env
from mlk.workspace import assets
from mlk.workspace.home import Workspace

SCRIPT = mlflow_env.SCRIPT


def registered_type(model: assets.Registered | None) -> str | None:
    """The type a model was registered with (mlflow_model, custom_model, ...)."""
    if model is None:
        return None
    return str((model.record or {}).get("type") or "") or None


def wanted(spec: Mapping[str, Any], model: assets.Registered | None) -> bool:
    """A deployment without code whose model is an MLflow model (inline type, or as registered)."""
    return model is not None and mlflow_env.is_mlflow(spec, registered_type(model))


def generated(
    ws: Workspace,
    spec: Mapping[str, Any],
    model: assets.Registered | None,
    definition: dict[str, Any] | None,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], assets.Registered]:
    """(environment definition, the scoring script registered as code) for a deployment without code; a
    UsageError when its model is no MLflow model. `definition`, the deployment's own environment, wins."""
    if model is None or not wanted(spec, model):
        raise UsageError(
            "this deployment has no code_configuration, and its model is no mlflow_model",
            hint="give code_configuration (code + scoring_script), an environment with inference_config "
            "(a custom container), or register the model with type: mlflow_model",
        )
    if definition is None:
        with ws.store() as store:
            files = mlflow_env.stored_files(store, model.digest)
            base = mlflow_env.base_image(ws.config.get("build") or {})
            definition = mlflow_env.environment(files, model.name, where=model.reference, image=base)
    code = assets.register_tree(ws, "code", mlflow_env.CODE_FOLDER, None, mlflow_env.script_folder(ws.cache))
    say("no code_configuration: mlk's MLflow scoring script serves the model (as Azure's no-code deployment)")
    return definition, code
