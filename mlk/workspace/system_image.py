"""mlk's own image — the operator, the router, the storage-initializer and the server in one — built from
the installed mlk for `mlk extension build-image` and the Docker runtime's initializer container. Made
once per mlk version, runtime content, base image and CA certificates, like an environment's image.
With `part="tracking"` the same build makes the cluster's MLflow tracking server image instead: MLflow's
server and nothing of mlk's dependencies (mlk.render.tracking runs it)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from mlk.render.tracking import MLFLOW_SERVER
from mlk.workspace import builds
from mlk.workspace.home import Workspace

SYSTEM_REPOSITORY = "mlk/system"
TRACKING_REPOSITORY = "mlk/tracking"
SYSTEM_EXCLUDED = {"uv", "docker"}  # the CLI's tools: the operator, router and initializer do not use them


def system_requirements() -> list[str]:
    """mlk's own dependencies, as installed (extras and CLI-only tools left out)."""
    import importlib.metadata
    import re

    found = []
    for requirement in importlib.metadata.requires("mlk") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()
        if name not in SYSTEM_EXCLUDED:
            found.append(requirement)
    return found


def ensure_system_image(
    ws: Workspace,
    *,
    base: str,
    say: builds.Say,
    on_lines: builds.Lines | None = None,
    push_to: str | None = None,
    pull: str = "missing",
    engine: Any = None,
    part: str = "system",
) -> builds.ImageResult:
    """mlk's own image (operator, router, storage-initializer, server): built from this mlk, once per
    mlk version, runtime content, base image and CA certificates; pushed to `push_to` when given.
    `part="tracking"`: the tracking server's image (MLflow's server)."""
    import uv as uv_package

    import mlk
    from mlk.images import dockerfile
    from mlk.images.context import tree_digest
    from mlk.images.engine import Engine

    started = time.monotonic()
    config = builds.settings(ws)
    own = engine is None
    engine = engine or Engine.connect()
    try:
        auth = builds.registry_auth(config["registry"])
        if pull == "always" or (pull == "missing" and engine.image_id(base) is None):
            say(f"pulling {base}")
            engine.pull(base)
        runtime = Path(mlk.__file__).parent
        ca = builds.ca_bundle(config["ca_certs"])
        requirements = system_requirements() if part == "system" else [MLFLOW_SERVER]
        parts = {
            "scheme": builds.SCHEME,
            "system": mlk.__version__,
            "base": engine.image_id(base) or "",
            "runtime": tree_digest(runtime),
            "requirements": requirements,
            "ca": hashlib.sha256(ca).hexdigest() if ca else None,
        }
        identity = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        repository = SYSTEM_REPOSITORY if part == "system" else TRACKING_REPOSITORY
        tag = f"{repository}:{mlk.__version__}-{identity[:12]}"
        image_id = engine.image_id(tag)
        reused = image_id is not None
        if image_id is None:
            say(f"building {tag} ({'operator, router, storage-initializer, server' if part == 'system' else 'MLflow'})")
            context = dockerfile.fast(
                base, requirements, (), None, runtime=runtime, uv=Path(uv_package.find_uv_bin()), ca=ca
            )
            image_id = engine.build(context, tag, on_lines)
        pushed = None
        if push_to:
            pushed = builds.push_image(engine, {**(config["registry"] or {}), "url": push_to}, tag, auth, say, on_lines)
        return builds.ImageResult(
            pushed or tag,
            tag,
            image_id,
            identity,
            part,
            reused,
            time.monotonic() - started,
            "mlk's own image" if part == "system" else "the MLflow tracking server's image",
            pushed,
        )
    finally:
        if own:
            engine.close()
