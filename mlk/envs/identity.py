"""An environment's identity: a sha256 of what it is made of, not of what it is called.

Azure ML caches built images by a hash of the environment definition — base image, conda content, Docker
build context — and two environments that differ only in name, version, description or tags share one
image. mlk keys its local virtual environments (and, later, its images) the same way, so renaming or
re-versioning an environment reuses the build, and changing one package, one Dockerfile line or one file in
the build context makes a new one.

What counts, and how it is normalised:

- `image` as written, `os_type` (default linux, any case);
- the conda file's content, parsed: key order, quoting, comments and whitespace do not matter, list order
  does (conda and pip read dependencies in order); the file's path does not matter either;
- the build context as relative path → sha256 of each file, plus `dockerfile_path`;
- `inference_config`.

Pure apart from reading the files the spec points at; no processes, no network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from mlk.errors import NotFoundError, SpecError

SCHEME = "mlk-environment/1"
"""Goes into every hash, so that a change in what counts can never reuse an old build by accident."""


def _plain(value: Any) -> Any:
    """Mappings (MappingProxyType from a Spec included) and sequences as dicts and lists, for JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def environment_identity(
    env: Mapping[str, Any], conda: Mapping[str, Any] | None, build_files: Mapping[str, str] | None
) -> str:
    """sha256 hex of the definition: `env` as in a spec, its conda content parsed, its build context hashed.

    `build_files` maps each file's path relative to the build context (with `/`) to the sha256 hex of its
    bytes; None when the environment has no build context. Name, version, description, tags, properties
    and the location of the conda file are not part of the identity.
    """
    build = env.get("build") if isinstance(env.get("build"), Mapping) else None
    definition = {
        "scheme": SCHEME,
        "image": env.get("image"),
        "os_type": str(env.get("os_type") or "linux").lower(),
        "conda": _plain(conda),
        "build": None
        if build_files is None
        else {
            "dockerfile_path": str((build or {}).get("dockerfile_path") or "Dockerfile"),
            "files": dict(sorted(build_files.items())),
        },
        "inference_config": _plain(env.get("inference_config")),
    }
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_conda(env_spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The conda environment of a resolved spec: the inline mapping, or the file `conda_file` names, parsed."""
    value = env_spec.get("conda_file")
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(_plain(value))
    path = Path(str(value))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            f"conda file {path} does not exist", hint="conda_file is relative to the YAML file that names it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"conda file {path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"conda file {path} is not valid YAML: {exc}", hint=f"mlk validate checks {path}") from None
    if not isinstance(data, dict):
        raise SpecError(f"conda file {path} is not a mapping", hint="a conda file has name, channels, dependencies")
    return data


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def build_context_files(env_spec: Mapping[str, Any]) -> dict[str, str] | None:
    """Relative path → sha256 of every file in the spec's Docker build context; None without one."""
    build = env_spec.get("build")
    if not isinstance(build, Mapping) or not build.get("path"):
        return None
    root = Path(str(build["path"]))
    if not root.is_dir():
        raise NotFoundError(f"build context {root} is not a folder", hint="build.path names the Docker build context")
    return {path.relative_to(root).as_posix(): _sha256(path) for path in sorted(root.rglob("*")) if path.is_file()}


def identity_of_spec(env_spec: Mapping[str, Any]) -> str:
    """The identity of a resolved environment spec (as mlk.specs produces it), reading what it points at."""
    return environment_identity(env_spec, read_conda(env_spec), build_context_files(env_spec))
