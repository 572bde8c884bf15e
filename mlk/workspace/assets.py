"""Versioned assets, as az ml has them: models, code snapshots and environments.

Models and code are content-addressed: registering a file or folder hashes it (a hash cache skips files
that did not change), uploads only the blobs the store lacks, and reuses the existing version when the
content is unchanged — so a second `create` of the same model sends 0 bytes. An environment's identity is
the hash of its definition (name and version excluded), as in Azure ML.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlk.errors import ConflictError, NotFoundError, UsageError
from mlk.workspace.files import locked, read_json, write_json
from mlk.workspace.home import Workspace

ANONYMOUS = "anonymous"
KINDS = ("models", "code", "environments", "data")


@dataclass(frozen=True)
class Registered:
    kind: str
    name: str
    version: str
    digest: str
    """Content digest (models, code) or definition identity (environments)."""
    bytes_sent: int = 0
    reused: bool = False
    record: Mapping[str, Any] | None = None

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}"


def _load(ws: Workspace) -> dict[str, Any]:
    data: dict[str, Any] = read_json(ws.assets_file, {})
    for kind in KINDS:
        data.setdefault(kind, {})
    return data


ARCHIVED, ACTIVE = "Archived", "Development"
"""An asset version's stage, as az ml shows it: archived versions leave `list` but can still be used."""


def listing(ws: Workspace, kind: str, name: str | None = None, archived: bool | None = False) -> list[dict[str, Any]]:
    """Every version (of one name): the active ones by default, `archived=True` the archived only, None all."""
    data = _load(ws)[kind]
    rows = []
    for asset, versions in sorted(data.items()):
        if name is not None and asset != name:
            continue
        for version, record in sorted(versions.items(), key=lambda kv: _version_key(kv[0])):
            if archived is None or (stage(record) == ARCHIVED) == archived:
                rows.append({"name": asset, "version": version, **record})
    return rows


def _noun(kind: str) -> str:
    """The command group (and the word) of a kind of asset: models → model."""
    return kind.removesuffix("s")


def stage(record: Mapping[str, Any]) -> str:
    return str(record.get("stage", ACTIVE))


def set_stage(ws: Workspace, kind: str, name: str, version: str | None, label: str | None, to: str) -> list[str]:
    """az ml's archive/restore: one version (-v, or -l latest), or with neither every version of the name.
    The versions changed; NotFoundError for a name or version the workspace lacks."""
    with locked(ws.root / "assets.lock"):
        data = _load(ws)
        chosen = resolve(ws, kind, named(kind, name, version, label), archived_too=True)
        versions = data[kind][chosen.name]
        wanted = [chosen.version] if version or label else list(versions)
        for each in wanted:
            versions[each]["stage"] = to
        write_json(ws.assets_file, data)
        return wanted


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)


def _record(
    ws: Workspace, kind: str, name: str, version: str | None, digest: str, extra: Mapping[str, Any]
) -> Registered:
    """Add (or reuse) a version under the assets lock."""
    with locked(ws.root / "assets.lock"):
        data = _load(ws)
        versions: dict[str, Any] = data[kind].setdefault(name, {})
        if version is None:
            same = [v for v, r in versions.items() if r.get("digest") == digest]
            if same:
                return Registered(
                    kind,
                    name,
                    max(same, key=_version_key),
                    digest,
                    reused=True,
                    record=versions[max(same, key=_version_key)],
                )
            numeric = [int(v) for v in versions if v.isdigit()]
            version = str(max(numeric) + 1 if numeric else 1)
        elif version in versions:
            if versions[version].get("digest") == digest:
                return Registered(kind, name, version, digest, reused=True, record=versions[version])
            raise ConflictError(
                f"{_noun(kind)} '{name}' version {version} already exists with different content",
                hint="give a new version, or leave version out to get the next one",
            )
        record = {"digest": digest, "created": time.time(), **extra}
        versions[version] = record
        write_json(ws.assets_file, data)
        return Registered(kind, name, version, digest, record=record)


Progress = Callable[[int, str], AbstractContextManager[Callable[[int], None]]]
"""Given a byte total and a label, a context yielding the callback to advance (mlk.storage.progress)."""
SHOW_PROGRESS_ABOVE = 8 * 1024 * 1024


def register_tree(
    ws: Workspace,
    kind: str,
    name: str,
    version: str | None,
    path: Path,
    extra: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> Registered:
    """Hash, upload what is missing, and record a model or code version for `path`."""
    from mlk.storage.cas import HashCache, hash_tree, upload_tree

    if not path.exists():
        raise UsageError(f"{path} does not exist")
    cache = HashCache(ws.cache / "hashes.json")
    manifest = hash_tree(path, cache)
    cache.save()
    with ws.store() as store:
        if progress is not None and manifest.size > SHOW_PROGRESS_ABOVE:
            with progress(manifest.size, f"uploading {path.name}") as advance:
                result = upload_tree(store, path, manifest, advance)
        else:
            result = upload_tree(store, path, manifest)
    registered = _record(
        ws,
        kind,
        name,
        version,
        manifest.digest,
        {"path": str(path), "size": sum(f.size for f in manifest.files), **(extra or {})},
    )
    return Registered(
        kind,
        registered.name,
        registered.version,
        registered.digest,
        result.bytes_sent,
        registered.reused,
        registered.record,
    )


def register_environment(
    ws: Workspace, name: str, version: str | None, identity: str, definition: Mapping[str, Any]
) -> Registered:
    return _record(ws, "environments", name, version, identity, {"definition": dict(definition)})


LABELS = ("latest",)
"""The labels mlk knows (Azure ML has `latest` too; others are not kept)."""


def named(kind: str, name: str, version: str | None = None, label: str | None = None) -> str:
    """`show -n NAME [-v VERSION | -l latest]` as the reference resolve() takes. az ml refuses both, and
    wants one of them; mlk shows the latest version when neither is given."""
    if version and label is not None:
        raise UsageError(
            f"give --version or --label, not both (--version {version} --label {label})",
            hint="az ml refuses both too: --version N for that version, --label latest for the newest",
        )
    if label is not None and label not in LABELS:
        noun = _noun(kind)
        raise UsageError(
            f"--label {label}: mlk knows only the label latest",
            hint=f"use --label latest, or --version N (mlk {noun} list -n {name} lists them)",
        )
    return f"{name}:{version}" if version else f"{name}@latest"


def resolve(ws: Workspace, kind: str, reference: str, *, archived_too: bool = False) -> Registered:
    """`azureml:name:version` or `azureml:name@latest` (or `name:version`) → the registered version. An
    archived version is still used when named, as in Azure; @latest is the newest active one."""
    if reference.startswith("azureml://registries/"):
        raise UsageError(
            f"'{reference}' is in an Azure ML registry, which mlk cannot read",
            hint=f"register it in this workspace (mlk {_noun(kind)} create ...) and use azureml:<name>:<version>",
        )
    text = reference.removeprefix("azureml:")
    if text.startswith("/"):
        raise UsageError(f"'{reference}' is an Azure resource id; mlk resolves azureml:<name>:<version>")
    if "@" in text:
        name, _, label = text.partition("@")
        if label != "latest":
            raise UsageError(f"label '{label}' is not supported; use @latest or :<version>")
        version = None
    else:
        name, _, version_text = text.partition(":")
        version = version_text or None
    versions = _load(ws)[kind].get(name)
    if not versions:
        raise NotFoundError(
            f"{_noun(kind)} '{name}' not found in this workspace",
            hint=f"register it first: mlk {_noun(kind)} create",
        )
    if version is None:
        active = [v for v, r in versions.items() if archived_too or stage(r) != ARCHIVED]
        if not active:
            raise NotFoundError(
                f"every version of '{name}' is archived",
                hint=f"name one (azureml:{name}:<version>), or restore one: mlk {_noun(kind)} restore -n {name}",
            )
        version = max(active, key=_version_key)
    if version not in versions:
        raise NotFoundError(f"'{name}' has no version {version}", hint=f"versions: {', '.join(sorted(versions))}")
    record = versions[version]
    return Registered(kind, name, version, record["digest"], record=record)


def deployment_environment(ws: Workspace, spec: Mapping[str, Any], missing: UsageError) -> dict[str, Any]:
    """A deployment's environment definition: inline, or the registered version it references; `missing`
    is raised when the deployment has none (what to do then depends on where it runs)."""
    env = spec.get("environment")
    if env is None:
        raise missing
    if isinstance(env, str):
        return dict((resolve(ws, "environments", env).record or {})["definition"])
    return dict(env)


def manifest_of(ws: Workspace, registered: Registered) -> Any:
    """The stored manifest of a model or code version (for materialising it)."""
    from mlk.storage.cas import load_manifest

    with ws.store() as store:
        return load_manifest(store, registered.digest)


def deployment_model(
    ws: Workspace, spec: Mapping[str, Any], say: Callable[[str], None], progress: Any = None
) -> Registered | None:
    """A deployment's model: a reference resolved, or an inline/local one registered (anonymous unless named)."""
    model = spec.get("model")
    if model is None:
        return None
    if isinstance(model, str) and model.startswith("azureml:"):
        return resolve(ws, "models", model)
    inline: dict[str, Any] = model if isinstance(model, dict) else {"path": model}
    name = str(inline.get("name") or ANONYMOUS)
    version = str(inline["version"]) if inline.get("version") is not None else None
    kind = {"type": inline.get("type", "custom_model")}
    registered = register_tree(ws, "models", name, version, Path(inline["path"]), kind, progress)
    unchanged = "unchanged, " if registered.reused else ""
    say(f"model {registered.reference}: {unchanged}{registered.bytes_sent:,} bytes uploaded")
    return registered


def deployment_code(
    ws: Workspace, spec: Mapping[str, Any], say: Callable[[str], None], progress: Any = None
) -> Registered | None:
    """A deployment's scoring code, registered as a content-addressed snapshot."""
    code = (spec.get("code_configuration") or {}).get("code")
    if code is None:
        return None
    if code.startswith("azureml:"):
        return resolve(ws, "code", code)
    registered = register_tree(ws, "code", ANONYMOUS, None, Path(code), None, progress)
    say(f"code {registered.digest[:12]}: {registered.bytes_sent:,} bytes uploaded")
    return registered
