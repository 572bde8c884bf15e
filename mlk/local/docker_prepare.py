"""What a deployment needs to run on the Docker runtime: its assets registered (the storage-initializer
container fetches them), the environment's image and mlk's system image (built or found), and how the
containers reach the workspace's storage.

Three kinds of deployment, as on a cluster:

- score.py (code_configuration): the environment's image runs mlk's server;
- no-code MLflow (an mlflow_model without code): mlk's MLflow scoring script, registered as the
  deployment's code, in an image built from the model's conda file (mlk.local.nocode);
- a custom container (inference_config): its image as it is (or its build context built as it is), with
  its routes and model_mount_path recorded in a label of an image made from it (CUSTOM_LABEL), which is how
  the replica (mlk.local.containers) learns them: the Docker run record keeps image references only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import UsageError
from mlk.local.containers import CUSTOM_LABEL, STORE_MOUNT
from mlk.workspace import assets, base_images, builds, nocode, system_image
from mlk.workspace.home import Workspace

Say = Callable[[str], None]
DEFAULT_SYSTEM_BASE = "python:3.11-slim"
CUSTOM_REPOSITORY = "mlk-custom"


def _definition(ws: Workspace, spec: Mapping[str, Any]) -> dict[str, Any]:
    missing = UsageError(
        "the Docker runtime runs the environment's image: this deployment has no environment",
        hint="add environment: {image: ..., conda_file: ...}, or use the process runtime (--runtime process)",
    )
    return assets.deployment_environment(ws, spec, missing)


def environment_image(ws: Workspace, definition: Mapping[str, Any], say: Say, on_lines: Any) -> str:
    """The environment's image: built from its conda file (or build context), else its image pulled."""
    if definition.get("conda_file") or definition.get("build"):
        result = builds.ensure_image(ws, definition, say=say, on_lines=on_lines)
        say(f"image {result.describe()}")
        return result.reference
    if not definition.get("image"):
        raise UsageError("the environment has no image", hint="set environment.image")
    from mlk.images.engine import engine

    image = str(definition["image"])
    with engine() as docker:
        if docker.image_id(image) is None:
            say(f"pulling {image}")
            docker.pull(image)
    say(f"image {image}: used as it is (no conda file, nothing to build)")
    return image


def _custom_image(
    ws: Workspace, definition: Mapping[str, Any], spec: Mapping[str, Any], say: Say, on_lines: Any
) -> str:
    """A custom container's image — as it is, or its build context built as it is (no mlk runtime, its own
    command) — made into one whose CUSTOM_LABEL holds the routes and model_mount_path."""
    from mlk.envs.identity import build_context_files, environment_identity
    from mlk.images.dockerfile import BuildContext
    from mlk.images.engine import engine

    if definition.get("conda_file"):
        raise UsageError(
            "a custom container (inference_config) runs its image as it is: mlk adds no conda environment to it",
            hint="install the packages in the image (environment.build with your Dockerfile), or drop conda_file",
        )
    settings = builds.settings(ws)
    identity = environment_identity(definition, None, build_context_files(definition))
    with engine() as docker:
        auth = builds.registry_auth(settings["registry"])
        base = base_images.base_image(
            docker, settings["registry"], definition, identity, settings["pull"], auth, say, on_lines
        )
        label = json.dumps(
            {"inference_config": definition["inference_config"], "model_mount_path": spec.get("model_mount_path")},
            sort_keys=True,
        )
        key = hashlib.sha256(f"{docker.image_id(base)}\0{label}".encode()).hexdigest()
        tag = f"{CUSTOM_REPOSITORY}/{base_images.slug(definition.get('name'))}:{key[:20]}"
        if docker.image_id(tag) is None:
            text = f"FROM {base}\nLABEL {CUSTOM_LABEL}={json.dumps(label)}\n"
            docker.build(BuildContext("image", text), tag, on_lines)
    say(f"image {base}: a custom container, run as it is (its routes in {tag})")
    return tag


def _system_image(ws: Workspace, say: Say, on_lines: Any) -> str:
    build = ws.config.get("build") or {}
    if build.get("system_image"):
        return str(build["system_image"])
    base = str(build.get("system_base") or DEFAULT_SYSTEM_BASE)
    result = system_image.ensure_system_image(ws, base=base, say=say, on_lines=on_lines)
    if not result.reused:
        say(f"mlk's system image {result.describe()}")
    return result.reference


def _storage(ws: Workspace) -> tuple[dict[str, Any], str | None]:
    """(the initializer's storage configuration, a host folder to mount for it) — never an account key."""
    config = ws.storage_config()
    if config.type == "local":
        return {"type": "local", "path": STORE_MOUNT}, str(config.path)
    with ws.store() as store:
        return {"type": "blob", "sas_url": store.read_url(hours=24 * 7)}, None


def prepare(
    ws: Workspace, spec: Mapping[str, Any], say: Say, progress: Any = None, on_lines: Any = None
) -> dict[str, Any]:
    # score.py needs an environment: said before anything is uploaded (_definition raises without one)
    needed = spec.get("environment") is not None or spec.get("code_configuration") is not None
    definition = _definition(ws, spec) if needed else None
    custom = (definition or {}).get("inference_config")
    model = assets.deployment_model(ws, spec, say, progress)
    code = assets.deployment_code(ws, spec, say, progress)
    script = str((spec.get("code_configuration") or {}).get("scoring_script") or "")
    if code is None and custom is None:
        definition, code = nocode.generated(ws, spec, model, definition, say)
        script = nocode.SCRIPT
    assert definition is not None  # given, or generated just above
    if custom is not None:
        image = _custom_image(ws, definition, spec, say, on_lines)
    else:
        image = environment_image(ws, definition, say, on_lines)
    storage, store_path = _storage(ws)
    return {
        "model": model.reference if model else None,
        "code": code.digest if code else None,
        "environment": {"name": definition.get("name"), "image": definition.get("image")},
        "run": {
            "runtime": "docker",
            "image": image,
            "system_image": _system_image(ws, say, on_lines),
            "model": {"digest": model.digest, "name": assets.manifest_of(ws, model).name} if model else None,
            "code": {"digest": code.digest, "name": assets.manifest_of(ws, code).name} if code else None,
            "storage": storage,
            "store_path": store_path,
            "scoring_script": script,
        },
    }
