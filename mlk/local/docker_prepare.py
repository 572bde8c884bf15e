"""What a deployment needs to run on the Docker runtime: its assets registered (the storage-initializer
container fetches them), the environment's image and mlk's system image (built or found), and how the
containers reach the workspace's storage."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import UsageError
from mlk.local.containers import STORE_MOUNT
from mlk.workspace import assets, builds, system_image
from mlk.workspace.home import Workspace

Say = Callable[[str], None]
DEFAULT_SYSTEM_BASE = "python:3.11-slim"


def _definition(ws: Workspace, spec: Mapping[str, Any]) -> dict[str, Any]:
    missing = UsageError(
        "the Docker runtime runs the environment's image: this deployment has no environment",
        hint="add environment: {image: ..., conda_file: ...}, or use the process runtime (--runtime process)",
    )
    return assets.deployment_environment(ws, spec, missing)


def _image(ws: Workspace, definition: Mapping[str, Any], say: Say, on_lines: Any) -> str:
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
    if spec.get("code_configuration") is None:  # before anything is uploaded
        raise UsageError(
            "this deployment has no code_configuration: the Docker runtime runs score.py files",
            hint="a no-code MLflow deployment runs on the process runtime (--runtime process); "
            "custom containers need Kubernetes",
        )
    model = assets.deployment_model(ws, spec, say, progress)
    code = assets.deployment_code(ws, spec, say, progress)
    assert code is not None  # code_configuration is there
    definition = _definition(ws, spec)
    storage, store_path = _storage(ws)
    return {
        "model": model.reference if model else None,
        "code": code.digest,
        "environment": {"name": definition.get("name"), "image": definition.get("image")},
        "run": {
            "runtime": "docker",
            "image": _image(ws, definition, say, on_lines),
            "system_image": _system_image(ws, say, on_lines),
            "model": {"digest": model.digest, "name": assets.manifest_of(ws, model).name} if model else None,
            "code": {"digest": code.digest, "name": assets.manifest_of(ws, code).name},
            "storage": storage,
            "store_path": store_path,
            "scoring_script": spec["code_configuration"]["scoring_script"],
        },
    }
