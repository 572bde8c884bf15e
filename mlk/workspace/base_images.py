"""The image an environment's layers go on: its `image`, used as it is when present (pulled only when
missing, or always when asked — air-gapped machines build from local images), or the user's own build
context built into an image first. Whether that image has conda decides what the conda builder can do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlk.errors import UsageError

CONTEXT_REPOSITORY = "mlk-env-context"


def slug(name: str | None) -> str:
    """A repository-safe form of an environment's name (`anonymous` without one)."""
    text = "".join(c if c.isalnum() or c in "-._" else "-" for c in (name or "anonymous").lower()).strip("-._")
    return text[:60] or "anonymous"


def base_image(
    engine: Any,
    registry: Mapping[str, Any] | None,
    definition: Mapping[str, Any],
    env_identity: str,
    pull: str,
    auth: Mapping[str, str] | None,
    say: Callable[[str], None],
    on_lines: Callable[[list[str]], None] | None,
) -> str:
    """The image the environment's layers go on: its `image` (pulled per `pull`), or the user's build
    context built into an image of its own."""
    from mlk.images.dockerfile import BuildContext

    build = definition.get("build")
    if isinstance(build, Mapping) and build.get("path"):
        root = Path(str(build["path"]))
        dockerfile_path = root / str(build.get("dockerfile_path") or "Dockerfile")
        if not dockerfile_path.is_file():
            raise UsageError(f"build context {root} has no {dockerfile_path.name}", hint="set build.dockerfile_path")
        files: dict[str, Path | bytes] = {
            p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file() and p != dockerfile_path
        }
        tag = f"{CONTEXT_REPOSITORY}/{slug(definition.get('name'))}:{env_identity[:20]}"
        if engine.image_id(tag) is None:
            say(f"building the environment's own Dockerfile as {tag}")
            engine.build(BuildContext("context", dockerfile_path.read_text(), files), tag, on_lines)
        return tag
    image = definition.get("image")
    if not image:
        raise UsageError("the environment has neither an image nor a build context", hint="set image: or build:")
    image = str(image)
    here = engine.image_id(image) is not None
    if pull == "always" or (pull == "missing" and not here):
        say(f"pulling {image}")
        registry_url = str((registry or {}).get("url") or "")
        engine.pull(image, auth if registry_url and image.startswith(registry_url) else None)
    elif not here:
        raise UsageError(
            f"base image {image} is not here and --pull never was given", hint="docker load it, or allow pulls"
        )
    return image


def has_conda(engine: Any, image: str) -> bool:
    """Whether the image has conda: its PATH names a conda folder (as Azure's base images set it)."""
    try:
        env = engine.client.api.inspect_image(image)["Config"].get("Env") or []
    except Exception:  # an image that cannot be inspected has no conda we could use
        return False
    path = next((e.split("=", 1)[1] for e in env if e.startswith("PATH=")), "")
    return "conda" in path.lower()
