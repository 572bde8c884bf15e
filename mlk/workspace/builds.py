"""Environment images: built once per identity, found again instead of rebuilt, pushed to the workspace's
registry when a cluster needs them.

An image's identity is the environment's (mlk.envs.identity: base image, conda content, build context)
plus what mlk adds: the base image's id, the builder, mlk's runtime and any extra CA certificates. An
unchanged environment is therefore found — locally by its deterministic tag, in the registry by the same
name — and costs no build (0 s). Settings live in workspace.json: `registry` {url, username, password},
`build` {ca_certs, builder, pull}; a build's own --ca-cert replaces the workspace's certificates.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlk.errors import UsageError
from mlk.workspace import base_images
from mlk.workspace.files import locked, read_json, write_json
from mlk.workspace.home import Workspace

SCHEME = "mlk-image/1"
REPOSITORY = "mlk-env"
BUILDERS = ("auto", "fast", "pip", "conda")
PULLS = ("missing", "always", "never")
Say = Callable[[str], None]
Lines = Callable[[list[str]], None]


@dataclass(frozen=True)
class ImageResult:
    reference: str
    """What a container or pod runs: the registry reference with its digest when pushed, else the tag."""
    tag: str
    image_id: str
    identity: str
    builder: str
    reused: bool
    seconds: float
    reason: str
    pushed: str | None = None
    environment: str = ""
    """The environment's own identity (mlk.envs.identity), which `environment show` looks images up by."""

    def describe(self) -> str:
        how = "reused" if self.reused else f"built in {self.seconds:.1f} s"
        return f"{self.tag} ({self.builder}; {how})" + (f", pushed as {self.pushed}" if self.pushed else "")


def settings(ws: Workspace) -> dict[str, Any]:
    build = dict(ws.config.get("build") or {})
    return {
        "ca_certs": [str(p) for p in build.get("ca_certs") or []],
        "builder": str(build.get("builder") or "auto"),
        "pull": str(build.get("pull") or "missing"),
        "registry": dict(ws.config.get("registry") or {}) or None,
    }


def registry_auth(registry: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Credentials for the docker SDK; None lets it use the docker config (docker login) as docker does."""
    if not registry or not registry.get("username"):
        return None
    return {"username": str(registry["username"]), "password": str(registry.get("password") or "")}


WORKSPACE_CA = "mlk workspace update --ca-cert FILE (or --no-ca-certs)"


def ca_bundle(paths: Sequence[str], *, given: bool = False) -> bytes | None:
    """The extra CA certificates as one PEM bundle (None without any). `given`: the paths came from this
    command's --ca-cert rather than the workspace's settings, which decides what the error tells to fix."""
    if not paths:
        return None
    where = "--ca-cert" if given else "the workspace's CA certificate"
    fix = "give a readable PEM certificate file" if given else f"fix the workspace's: {WORKSPACE_CA}"
    parts = []
    for name in paths:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"{where} {name}: {exc.strerror}", hint=fix) from None
        if b"BEGIN CERTIFICATE" not in data:
            raise UsageError(f"{where} {name}: not a PEM certificate file", hint=fix)
        parts.append(data.strip() + b"\n")
    return b"".join(parts)


def _records(ws: Workspace) -> Path:
    return ws.root / "images.json"


def recorded(ws: Workspace, identity: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = read_json(_records(ws), {}).get(identity)
    return found


def _remember(ws: Workspace, result: ImageResult) -> None:
    with locked(ws.root / "images.lock"):
        data = read_json(_records(ws), {})
        previous = data.get(result.identity) or {}
        entry = {**previous, **asdict(result), "at": time.time()}
        if previous.get("seconds") and result.reused:
            entry["seconds"] = previous["seconds"]  # how long the real build took
        data[result.identity] = entry
        write_json(_records(ws), data)


def images_of(ws: Workspace, env_identity: str) -> list[dict[str, Any]]:
    """The images built (or found) for an environment identity: what `environment show` reports."""
    rows = [r for r in read_json(_records(ws), {}).values() if r.get("environment") == env_identity]
    keys = ("reference", "tag", "builder", "pushed", "seconds", "at")
    return [{k: r.get(k) for k in keys} for r in sorted(rows, key=lambda r: r.get("at", 0))]


def _choose(
    definition: Mapping[str, Any], conda: Mapping[str, Any] | None, wanted: str, base_has_conda: Callable[[], bool]
) -> tuple[str, str]:
    """(builder, why) for an environment."""
    from mlk.envs.conda import pip_plan

    if isinstance(definition.get("build"), Mapping) and definition["build"].get("path"):
        return "context", "a Docker build context: its Dockerfile, then mlk's runtime on top"
    if conda is None:
        return "image", "no conda file: the image as it is, with mlk's runtime added"
    if wanted in ("fast", "pip", "conda"):
        return wanted, f"asked for ({wanted})"
    plan = pip_plan(conda)
    untranslatable = [n for n in plan.notes if n.startswith("dependencies entry")]
    untranslatable += [f"{e}: {r}" for e, r in plan.skipped if "not supported" in r]
    if not untranslatable:
        return "fast", "the conda file is pip-installable: uv into a virtual environment, no conda"
    if base_has_conda():
        return "conda", f"conda needed for: {'; '.join(untranslatable)}"
    raise UsageError(
        f"the conda file needs conda ({'; '.join(untranslatable)}) and the base image has none",
        hint="use a base image with conda, or make those entries pip-installable",
    )


def ensure_image(
    ws: Workspace,
    definition: Mapping[str, Any],
    *,
    say: Say,
    on_lines: Lines | None = None,
    builder: str | None = None,
    pull: str | None = None,
    push: bool = False,
    ca_certs: Sequence[str] | None = None,
    engine: Any = None,
) -> ImageResult:
    """The image of an environment definition: found (0 s) or built, and pushed when `push`. `ca_certs`
    replaces the workspace's extra CA certificates for this build (None: the workspace's)."""
    from mlk.envs.identity import build_context_files, environment_identity, read_conda
    from mlk.images import dockerfile
    from mlk.images.context import tree_digest
    from mlk.images.engine import Engine

    config = settings(ws)
    builder = builder or config["builder"]
    pull = pull or config["pull"]
    if builder not in BUILDERS:
        raise UsageError(f"--builder {builder}: use one of {', '.join(BUILDERS)}")
    if pull not in PULLS:
        raise UsageError(f"--pull {pull}: use one of {', '.join(PULLS)}")
    if push and not config["registry"]:
        raise UsageError(
            f"workspace '{ws.name}' has no registry to push the image to",
            hint="mlk workspace update --registry HOST:PORT [--registry-username U --registry-password P]",
        )
    # read before Docker is touched: a missing certificate is the user's to fix, not a failed build
    ca = ca_bundle(config["ca_certs"]) if ca_certs is None else ca_bundle(ca_certs, given=True)
    started = time.monotonic()
    conda = read_conda(definition)
    env_identity = environment_identity(definition, conda, build_context_files(definition))
    own = engine is None
    engine = engine or Engine.connect()
    try:
        auth = registry_auth(config["registry"])
        base = base_images.base_image(engine, config["registry"], definition, env_identity, pull, auth, say, on_lines)
        base_id = engine.image_id(base) or ""
        kind, why = _choose(definition, conda, builder, lambda: base_images.has_conda(engine, base))
        import uv as uv_package

        import mlk

        runtime = Path(mlk.__file__).parent
        parts = {
            "scheme": SCHEME,
            "environment": env_identity,
            "base": base_id,
            "builder": kind,
            "runtime": tree_digest(runtime),
            "ca": hashlib.sha256(ca).hexdigest() if ca else None,
        }
        identity = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        tag = f"{REPOSITORY}/{base_images.slug(definition.get('name'))}:{identity[:20]}"
        image_id = engine.image_id(tag)
        earlier = recorded(ws, identity)
        if image_id is None and earlier and engine.image_id(str(earlier["tag"])):
            image_id = engine.image_id(str(earlier["tag"]))  # the same environment under another name
            engine.tag(str(image_id), tag)
        reused = image_id is not None
        if image_id is None:
            say(f"building {tag}: {why}")
            uv = Path(uv_package.find_uv_bin())
            if kind in ("fast", "pip"):
                from mlk.envs.conda import pip_plan

                plan = pip_plan(conda or {})
                context = dockerfile.fast(
                    base,
                    plan.requirements,
                    plan.options,
                    plan.python,
                    runtime=runtime,
                    uv=uv,
                    ca=ca,
                    installer="uv" if kind == "fast" else "pip",
                )
            elif kind == "conda":
                import yaml

                context = dockerfile.conda(
                    base, yaml.safe_dump(dict(conda or {})).encode(), runtime=runtime, uv=uv, ca=ca
                )
            else:
                context = dockerfile.runtime_only(base, runtime=runtime, uv=uv, ca=ca, builder=kind)  # type: ignore[arg-type]
            image_id = engine.build(context, tag, on_lines)
        pushed = None
        if push:
            pushed = push_image(engine, config["registry"], tag, auth, say, on_lines)
        result = ImageResult(
            pushed or tag, tag, image_id, identity, kind, reused, time.monotonic() - started, why, pushed, env_identity
        )
    finally:
        if own:
            engine.close()
    _remember(ws, result)
    return result


def push_image(
    engine: Any, registry: Mapping[str, Any], tag: str, auth: Mapping[str, str] | None, say: Say, on_lines: Lines | None
) -> str:
    url = str(registry["url"]).rstrip("/").removeprefix("https://").removeprefix("http://")
    target = f"{url}/{tag}"
    digest = engine.remote_digest(target, auth)
    if digest is None:
        engine.tag(tag, target)
        say(f"pushing {target}")
        digest = engine.push(target, auth, on_lines)
    name = target.rsplit(":", 1)[0]
    return f"{name}@{digest}"
