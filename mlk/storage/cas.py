"""Content-addressed trees: how models and code snapshots are stored and brought back.

    blobs/sha256/<hex>            each distinct file content, once, whatever its name or asset
    manifests/<digest>.json       an asset: its name, kind and (path, sha256, size) list

Uploading sends only the blobs the store lacks, then the manifest (last, so a manifest in the store
means its blobs are there too): re-registering an unchanged model sends 0 bytes. Materialising
downloads each blob once into a local cache, checks its SHA-256 (storage is not trusted: a damaged blob
is an ExternalError, never a silently wrong model), and hard-links it into place, so ten deployments of
one model cost its size once on disk. The result appears atomically at dest_root/<digest>.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlk.errors import ExternalError, MlkError
from mlk.storage.base import ProgressFn, Store, StrPath, remove_quietly, temp_sibling
from mlk.storage.hashing import HashCache, hash_file, hash_tree
from mlk.storage.manifest import Manifest, ManifestFile

__all__ = [
    "HashCache",
    "Manifest",
    "ManifestFile",
    "UploadResult",
    "blob_key",
    "hash_tree",
    "load_manifest",
    "manifest_key",
    "materialize",
    "upload_tree",
]


@dataclass(frozen=True)
class UploadResult:
    bytes_sent: int
    """Bytes actually sent (blobs and manifest); 0 when everything was there already."""
    files_sent: int
    files_skipped: int
    """Files whose content the store already held (or that repeat another file's content)."""


def blob_key(sha256: str) -> str:
    return f"blobs/sha256/{sha256}"


def manifest_key(digest: str) -> str:
    return f"manifests/{digest}.json"


def upload_tree(store: Store, path: StrPath, manifest: Manifest, on_progress: ProgressFn | None = None) -> UploadResult:
    """Upload what `store` lacks of the tree at `path` (hashed into `manifest`), then the manifest.

    on_progress receives bytes done, skipped files included, so a bar sized manifest.size ends full.
    """
    root = Path(os.path.abspath(path)).resolve()
    sent = files_sent = files_skipped = 0
    seen: set[str] = set()
    for f in manifest.files:
        if f.sha256 in seen or store.exists(blob_key(f.sha256)):
            files_skipped += 1
            seen.add(f.sha256)
            if on_progress:
                on_progress(f.size)
            continue
        seen.add(f.sha256)
        source = root if manifest.kind == "file" else root / f.path
        if source.stat().st_size != f.size:
            raise MlkError(f"{source} changed since it was hashed", hint="register it again once it is complete")
        sent += store.put_file(blob_key(f.sha256), source, on_progress)
        files_sent += 1
    if not store.exists(manifest_key(manifest.digest)):
        sent += store.put_bytes(manifest_key(manifest.digest), manifest.to_json().encode("utf-8"))
    return UploadResult(sent, files_sent, files_skipped)


def load_manifest(store: Store, digest: str) -> Manifest:
    """The manifest stored under `digest`, checked against it."""
    manifest = Manifest.from_json(store.get_bytes(manifest_key(digest)))
    if manifest.digest != digest:
        raise ExternalError(f"stored manifest {digest[:12]} does not match its name", hint="register the asset again")
    return manifest


def materialize(
    store: Store, manifest: Manifest, dest_root: StrPath, cache_dir: StrPath, on_progress: ProgressFn | None = None
) -> Path:
    """Reproduce the asset at dest_root/<digest>/<name> and return dest_root/<digest> (AZUREML_MODEL_DIR).

    Idempotent (an existing dest_root/<digest> is complete by construction: it is built in a temporary
    folder and renamed) and safe against a concurrent materialisation of the same manifest.
    """
    final = Path(dest_root) / manifest.digest
    if final.is_dir():
        return final
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    for f in {f.sha256: f for f in manifest.files}.values():
        _fetch(store, f, cache, on_progress)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)
    try:
        base = tmp if manifest.kind == "file" else tmp / manifest.name
        base.mkdir(parents=True)
        for f in manifest.files:
            target = base / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(cache / f.sha256, target)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            shutil.rmtree(tmp)  # another process finished the same manifest first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _fetch(store: Store, f: ManifestFile, cache: Path, on_progress: ProgressFn | None) -> None:
    """Download one blob into cache/<sha256>, verified; once (a cached blob was verified when it came)."""
    cached = cache / f.sha256
    if cached.is_file() and cached.stat().st_size == f.size:
        if on_progress:
            on_progress(f.size)
        return
    part = temp_sibling(cached)
    try:
        store.get_file(blob_key(f.sha256), part, on_progress)
        got, size = hash_file(part)
        if got != f.sha256 or size != f.size:
            raise ExternalError(
                f"blob {f.sha256[:12]} from {store.describe()} is corrupt: its content hashes to {got[:12]} "
                f"({size} bytes, expected {f.size})",
                hint="register the asset again to upload it afresh",
            )
        os.chmod(part, 0o444)  # shared by hard links: nobody may write to it in place
        os.replace(part, cached)
    finally:
        remove_quietly(part)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)
        os.chmod(target, 0o444)
