"""A finished job's outputs, uploaded as Azure keeps them: each declared output, and `artifacts` — the
working folder's ./outputs and ./logs, the processes' user_logs/, and what the job logged to MLflow (so
`azureml://jobs/<job>/outputs/artifacts/paths/model` names a model logged with `mlflow.<flavor>.log_model`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from mlk.storage.cas import HashCache, hash_tree, upload_tree
from mlk.storage.jobkeys import output_key
from mlk.workspace.home import Workspace
from mlk.workspace.jobrecords import ARTIFACTS


def upload(ws: Workspace, job: str, name: str, path: Path) -> str:
    """Upload one output folder; its digest is recorded last (a half-uploaded output is no output)."""
    path.mkdir(parents=True, exist_ok=True)
    cache = HashCache(ws.cache / "hashes.json")
    manifest = hash_tree(path, cache)
    cache.save()
    with ws.store() as store:
        upload_tree(store, path, manifest)
        store.put_bytes(output_key(job, name), manifest.digest.encode("ascii"))
    return manifest.digest


def artifacts(staging: Path, workdir: Path, user_logs: Path, logged: dict[str, Path]) -> Path:
    """Gather the artifacts tree in `staging`: what MLflow logged at the top (`logged`: where in the tree →
    the folder; "" for the run's own artifacts, a model's name for each model it logged), as Azure shows it."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for inside, source in logged.items():
        if source.is_dir():
            shutil.copytree(source, staging / inside, dirs_exist_ok=True)
    for folder in ("outputs", "logs"):
        if (workdir / folder).is_dir():
            shutil.copytree(workdir / folder, staging / folder, dirs_exist_ok=True)
    if user_logs.is_dir():
        shutil.copytree(user_logs, staging / "user_logs", dirs_exist_ok=True)
    return staging


def upload_all(
    ws: Workspace, job: str, outputs: dict[str, Path], staging: Path, say: Callable[[str], None]
) -> dict[str, str]:
    """Every output, `artifacts` included; a failed upload of one does not stop the others."""
    digests: dict[str, str] = {}
    for name, path in {**outputs, ARTIFACTS: staging}.items():
        try:
            digests[name] = upload(ws, job, name, path)
        except Exception as exc:
            say(f"output {name}: upload failed: {exc}")
    return digests
