"""What Azure generates for a no-code MLflow deployment (an `mlflow_model` deployed without
code_configuration), defined once for every compute: the process runtime, the Docker runtime and
Kubernetes all run mlflow_score.py as the deployment's code, in an environment made from the model's own
MLmodel and conda file, with mlflow-skinny and pandas added when that file lacks mlflow.

The model's files are read through a mapping of relative path → reader, so the same code reads a folder
on this machine and a model in the workspace's storage (only MLmodel and the conda file are fetched).
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlk.errors import ExternalError, UsageError
from mlk.render.pod import GENERATED_CODE, GENERATED_SCRIPT

SCRIPT_DIR = Path(__file__).resolve().parent
SCRIPT = GENERATED_SCRIPT
CODE_FOLDER = GENERATED_CODE
"""The folder (and code asset name) the script is registered from: the pod recognises it by this name."""
DEFAULT_BASE = "python:3.11-slim"
"""The image the environment is built on when the workspace names no Python base (--system-base-image)."""
MLFLOW = ("mlflow", "mlflow-skinny")
ADDED = ("mlflow-skinny", "pandas")
Files = Mapping[str, Callable[[], bytes]]


def is_mlflow(spec: Mapping[str, Any], registered_type: str | None) -> bool:
    """A deployment without code whose model is an MLflow model (inline type, or as registered), and which
    is no custom container (that serves the model itself)."""
    if spec.get("code_configuration") is not None:
        return False
    environment = spec.get("environment")
    if isinstance(environment, Mapping) and environment.get("inference_config"):
        return False
    inline = spec.get("model")
    if isinstance(inline, Mapping) and inline.get("type") == "mlflow_model":
        return True
    return registered_type == "mlflow_model"


def folder_files(root: Path) -> Files:
    """The files of a model folder on this machine."""
    return {p.relative_to(root).as_posix(): p.read_bytes for p in sorted(root.rglob("*")) if p.is_file()}


def stored_files(store: Any, digest: str) -> Files:
    """The files of a model in the workspace's storage (mlk.storage), each fetched and checked when read."""
    from mlk.storage.cas import blob_key, load_manifest

    def read(path: str, sha256: str) -> bytes:
        data: bytes = store.get_bytes(blob_key(sha256))
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ExternalError(f"the model's {path} in {store.describe()} is corrupt", hint="register the model again")
        return data

    manifest = load_manifest(store, digest)
    return {f.path: functools.partial(read, f.path, f.sha256) for f in manifest.files}


def model_file(paths: Iterable[str]) -> str | None:
    """The MLmodel file nearest the model's root (the root itself or a folder below it)."""
    found = [p for p in paths if p == "MLmodel" or p.endswith("/MLmodel")]
    return min(found, key=lambda p: (p.count("/"), p), default=None)


def _yaml(files: Files, path: str, where: str) -> Any:
    try:
        return yaml.safe_load(files[path]())
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{where}/{path} is not valid YAML: {str(exc).splitlines()[0]}",
            hint="save the model again with mlflow (mlflow.<flavor>.save_model or log_model)",
        ) from None


def environment(files: Files, name: str, *, where: str, image: str | None = None) -> dict[str, Any]:
    """The environment definition from the MLflow model's conda file (mlflow added when it lacks it), on
    `image` when given. `where` names the model in messages (its folder, or its registered reference)."""
    mlmodel = model_file(files)
    if mlmodel is None:
        raise UsageError(
            f"the model has no MLmodel file (looked in {where}): a deployment without code_configuration "
            "needs an MLflow model",
            hint="register the model with type: mlflow_model from the folder MLflow saved, or add code_configuration",
        )
    folder = posixpath.dirname(mlmodel)
    shown = f"{where}/{folder}" if folder else where
    meta = _yaml(files, mlmodel, where)
    flavors = meta.get("flavors") if isinstance(meta, Mapping) else None
    pyfunc = flavors.get("python_function") if isinstance(flavors, Mapping) else None
    if not isinstance(pyfunc, Mapping):
        raise UsageError(
            f"the MLflow model in {shown} has no python_function flavor, which no-code deployment loads",
            hint="give code_configuration with a score.py that loads the model's own flavor",
        )
    env = pyfunc.get("env")
    conda_name = str((env.get("conda") if isinstance(env, Mapping) else env) or "conda.yaml")
    conda_path = posixpath.normpath(posixpath.join(folder, conda_name))
    if conda_path not in files:
        raise UsageError(
            f"the MLflow model in {shown} has no {conda_name} to build its environment from "
            "(MLmodel: flavors.python_function.env)",
            hint="add an environment with a conda file to the deployment",
        )
    conda = _yaml(files, conda_path, where)
    if not isinstance(conda, Mapping):
        raise UsageError(f"{where}/{conda_path} is not a conda environment file (a mapping with dependencies)")
    return {"name": f"mlflow-{name}", "conda_file": with_mlflow(conda), **({"image": image} if image else {})}


def with_mlflow(conda: Mapping[str, Any]) -> dict[str, Any]:
    """The conda file with mlflow-skinny and pandas in its pip list unless it names mlflow already."""
    out = dict(conda)
    dependencies = list(out.get("dependencies") or [])
    pip = next((d for d in dependencies if isinstance(d, dict) and "pip" in d), None)
    listed = [*(pip or {}).get("pip", []), *(d for d in dependencies if isinstance(d, str))]
    names = [re.split(r"[<>=!~\[; ]", str(p).strip(), maxsplit=1)[0].lower() for p in listed]
    if not any(n in MLFLOW for n in names):
        if pip is None:
            dependencies.append({"pip": list(ADDED)})
        else:
            index = dependencies.index(pip)
            dependencies[index] = {**pip, "pip": [*pip["pip"], *ADDED]}
    out["dependencies"] = dependencies
    return out


def script_folder(parent: Path) -> Path:
    """A folder holding only the scoring script (parent/CODE_FOLDER): what is registered as the
    deployment's code, and the process runtime's working folder, where MLflow writes what it writes —
    never inside the installed mlk package. Written only when its content changed."""
    folder = parent / CODE_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target, data = folder / SCRIPT, (SCRIPT_DIR / SCRIPT).read_bytes()
    if not target.is_file() or target.read_bytes() != data:
        target.write_bytes(data)
        target.chmod(0o600)  # as everything under MLK_HOME: the owner's alone
    return folder


def base_image(build_settings: Mapping[str, Any]) -> str:
    """The Python image the generated environment is built on: the workspace's `build.system_base` (the
    base it builds mlk's own image on), else DEFAULT_BASE."""
    return str(build_settings.get("system_base") or DEFAULT_BASE)
