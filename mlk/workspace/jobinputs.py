"""Where a job's data comes from and where its outputs are found again.

A data input is a local file or folder, an https URL, a data asset (`azureml:name:version`), another
job's output (`azureml://jobs/<job>/outputs/<name>`), or files in the workspace's own storage
(`azureml://datastores/workspaceblobstore/paths/<path>`: Azure's default datastore is the workspace's blob
container, and mlk's is its storage, folder or container); each becomes a content-addressed tree in the
workspace's storage. `azureml://jobs/<job>/outputs/<name>/paths/<sub>` (and Azure's
`.../outputs/artifacts/paths/<sub>` for what MLflow logged) is also how `model create --path` takes a
trained model.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlk.errors import ExternalError, NotFoundError, UsageError
from mlk.workspace import assets
from mlk.workspace.datastores import datastore_path, is_datastore_path
from mlk.workspace.home import Workspace
from mlk.workspace.jobrecords import PreparedInput, output_name

Say = Callable[[str], None]
JOB_PATH = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<output>[^/]+)(?:/paths/(?P<sub>.*))?$")
DOWNLOAD_TIMEOUT = 60.0


def is_job_path(path: str) -> bool:
    return path.startswith("azureml://jobs/")


def _parse_job_path(path: str) -> tuple[str, str, str]:
    match = JOB_PATH.match(path.rstrip("/") if not path.endswith("/paths/") else path)
    if match is None:
        raise UsageError(
            f"'{path}' is not a job output path",
            hint="azureml://jobs/<job>/outputs/<output>, or .../outputs/artifacts/paths/<folder>",
        )
    return match["job"], output_name(match["output"]), (match["sub"] or "").strip("/")


def output_digest(ws: Workspace, job: str, output: str) -> str:
    """The manifest digest a runner recorded for `output` of `job` (NotFoundError while there is none)."""
    from mlk.storage.jobkeys import output_key
    from mlk.workspace.jobs import record

    record(ws, job)
    with ws.store() as store:
        key = output_key(job, output)
        if not store.exists(key):
            raise NotFoundError(
                f"job '{job}' has no output '{output}' (yet)",
                hint=f"outputs are uploaded when the job ends: mlk job show -n {job} --query status",
            )
        return str(store.get_bytes(key).decode("ascii").strip())


def output_path(ws: Workspace, job: str, output: str, sub: str = "") -> Path:
    """A job's output (or a folder in it) on this machine: materialised from storage into the cache."""
    from mlk.storage.cas import load_manifest, materialize

    digest = output_digest(ws, job, output)
    with ws.store() as store:
        manifest = load_manifest(store, digest)
        root = materialize(store, manifest, ws.cache / "outputs", ws.cache / "blobs")
    base = root if manifest.kind == "file" else root / manifest.name
    target = (base / sub).resolve() if sub else base
    if base.resolve() not in (target, *target.parents):
        raise UsageError(f"'{sub}' leads out of the job's output")
    if not target.exists():
        inside = sorted(p.name for p in base.iterdir()) if base.is_dir() else []
        raise NotFoundError(
            f"job '{job}' output '{output}' has no '{sub}'", hint="it holds: " + (", ".join(inside) or "nothing")
        )
    return target


def job_path(ws: Workspace, path: str) -> Path:
    """`azureml://jobs/<job>/outputs/<output>[/paths/<sub>]` on this machine."""
    job, output, sub = _parse_job_path(path)
    return output_path(ws, job, output, sub)


def local_copy(ws: Workspace, path: str, say: Say, kind: str | None = None) -> Path:
    """A local path for a data path: itself, an https URL downloaded (once per URL), a job's output, or a
    datastore's file or folder (`kind`, the input's type, says which: see datastore_path)."""
    if is_job_path(path):
        return job_path(ws, path)
    if path.startswith(("http://", "https://")):
        return _download(ws, path, say)
    if is_datastore_path(path):
        return datastore_path(ws, path, say, kind)
    return Path(path)


def _download(ws: Workspace, url: str, say: Say) -> Path:
    name = Path(urllib.parse.urlparse(url).path).name or "download"
    target = ws.cache / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:16] / name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{name}.part")
    say(f"downloading {url}")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as answer, partial.open("wb") as out:
            shutil.copyfileobj(answer, out, 1 << 20)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        hint = "check the URL, or download it and give the path"
        raise ExternalError(f"cannot download {url}: {exc}", hint=hint) from None
    partial.replace(target)
    return target


def data_input(ws: Workspace, name: str, value: Mapping[str, Any], say: Say) -> PreparedInput:
    """A data input as a tree in the workspace's storage."""
    kind, mode, path = str(value.get("type", "uri_folder")), str(value.get("mode", "ro_mount")), str(value["path"])
    if path.startswith("azureml:") and not path.startswith("azureml://"):
        found = assets.resolve(ws, "data", path)
        stored = found.record or {}
        out: PreparedInput = {"type": str(stored.get("type", kind)), "mode": mode, "digest": found.digest}
    else:
        local = local_copy(ws, path, say, kind)
        registered = assets.register_tree(ws, "data", assets.ANONYMOUS, None, local, {"type": kind})
        say(f"input {name}: {registered.digest[:12]}, {registered.bytes_sent:,} bytes uploaded")
        out = {"type": kind, "mode": mode, "digest": registered.digest}
        stored = registered.record or {}
    if out["type"] == "uri_file":
        out["file"] = Path(str(stored.get("path", path))).name
    return out
