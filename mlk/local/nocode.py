"""No-code MLflow deployments on this machine: an `mlflow_model` deployed without code_configuration runs
mlk's MLflow scoring script (mlk/server/nocode) in an environment built from the model's own conda.yaml,
as Azure generates both for such a deployment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mlk.errors import UsageError
from mlk.workspace import assets
from mlk.workspace.files import private_dir, write_private

SCRIPT_DIR = Path(__file__).resolve().parents[1] / "server" / "nocode"
SCRIPT = "mlflow_score.py"


def script_folder(assets: Path) -> Path:
    """A copy of the scoring script in the workspace: the replica's working folder, where MLflow writes
    what it writes (mlruns/), never inside the installed mlk package."""
    folder = assets / "mlflow-nocode"
    private_dir(folder)
    write_private(folder / SCRIPT, (SCRIPT_DIR / SCRIPT).read_bytes())
    return folder


def wanted(spec: Mapping[str, Any], model: assets.Registered | None) -> bool:
    """A deployment without code whose model is an MLflow model (inline type, or as registered)."""
    if spec.get("code_configuration") is not None or model is None:
        return False
    inline = spec.get("model")
    if isinstance(inline, Mapping) and inline.get("type") == "mlflow_model":
        return True
    return str((model.record or {}).get("type") or "") == "mlflow_model"


def model_folder(root: Path) -> Path:
    """The folder with the MLmodel file: the model's own folder or one below it."""
    for candidate in (root, *sorted(p for p in root.rglob("*") if p.is_dir())):
        if (candidate / "MLmodel").is_file():
            return candidate
    raise UsageError(
        f"the model has no MLmodel file (looked in {root}): a deployment without code_configuration "
        "needs an MLflow model",
        hint="register the model with type: mlflow_model from the folder MLflow saved, or add code_configuration",
    )


def environment(root: Path, name: str) -> dict[str, Any]:
    """An environment definition from the MLflow model's conda.yaml, with mlflow added when it lacks it."""
    folder = model_folder(root)
    meta = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8")) or {}
    pyfunc = (meta.get("flavors") or {}).get("python_function")
    if not isinstance(pyfunc, Mapping):
        raise UsageError(
            f"the MLflow model in {folder} has no python_function flavor, which no-code deployment loads",
            hint="give code_configuration with a score.py that loads the model's own flavor",
        )
    conda_name = str((pyfunc.get("env") or {}).get("conda") if isinstance(pyfunc.get("env"), Mapping) else "")
    conda_path = folder / (conda_name or str(pyfunc.get("env") or "conda.yaml"))
    if not conda_path.is_file():
        raise UsageError(
            f"the MLflow model in {folder} has no {conda_path.name} to build its environment from",
            hint="add an environment with a conda file to the deployment",
        )
    conda = dict(yaml.safe_load(conda_path.read_text(encoding="utf-8")) or {})
    dependencies = list(conda.get("dependencies") or [])
    pip = next((d for d in dependencies if isinstance(d, dict) and "pip" in d), None)
    listed = [*(pip or {}).get("pip", []), *(d for d in dependencies if isinstance(d, str))]
    names = [re.split(r"[<>=!~\[; ]", str(p).strip(), maxsplit=1)[0].lower() for p in listed]
    if not any(n in ("mlflow", "mlflow-skinny") for n in names):
        extra = ["mlflow-skinny", "pandas"]
        if pip is None:
            dependencies.append({"pip": extra})
        else:
            pip["pip"] = [*pip["pip"], *extra]
    conda["dependencies"] = dependencies
    return {"name": f"mlflow-{name}", "conda_file": conda}
