"""`python -m mlk.storage.initializer`: the storage-initializer init container of every model pod.

It fetches the model and the scoring code (content-addressed manifests, verified by SHA-256) into the
pod's emptyDir at /var/azureml-app, in Azure's layout: the model at azureml-models/<digest>/<its name>
(AZUREML_MODEL_DIR is azureml-models/<digest>), the code at <its folder name> (AML_APP_ROOT; see
mlk.render.pod.code_folder for the names that go to azureml-code/<name> instead, so that code and model
never replace each other). Storage credentials come from MLK_STORAGE_CONFIG (the storage Secret; a
read-only SAS for blob storage).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from mlk.errors import MlkError
from mlk.render.pod import INITIALIZER_CACHE, INITIALIZER_STAGING, MODELS, code_folder
from mlk.storage import open_store
from mlk.storage.cas import load_manifest, materialize
from mlk.storage.config import StorageConfig

CONFIG_ENV = "MLK_STORAGE_CONFIG"


def fetch(config: StorageConfig, dest: Path, model: str | None, code: str | None) -> list[str]:
    """Materialise the model and code under `dest`; returns what it did, one line each."""
    done = []
    cache = dest / INITIALIZER_CACHE
    staging = dest / INITIALIZER_STAGING
    with open_store(config) as store:
        if model:
            started = time.perf_counter()
            path = materialize(store, load_manifest(store, model), dest / MODELS, cache)
            done.append(f"model {model[:12]} -> {path} in {time.perf_counter() - started:.2f} s")
        if code:
            started = time.perf_counter()
            manifest = load_manifest(store, code)
            staged = materialize(store, manifest, staging, cache)
            target = dest / code_folder(manifest.name)
            _remove(target)  # a restarted pod's earlier copy: never the models' folder (code_folder sees to it)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staged / manifest.name), target)
            done.append(f"code {code[:12]} -> {target} in {time.perf_counter() - started:.2f} s")
    shutil.rmtree(cache, ignore_errors=True)  # blobs are hard-linked into place: the cache only costs space
    shutil.rmtree(staging, ignore_errors=True)
    return done


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlk.storage.initializer", description=__doc__)
    parser.add_argument("--model", help="digest of the model's manifest")
    parser.add_argument("--code", help="digest of the code's manifest")
    parser.add_argument("--dest", default="/var/azureml-app")
    args = parser.parse_args(argv)
    return report(lambda config: fetch(config, Path(args.dest), args.model, args.code))


def report(work: Callable[[StorageConfig], Iterable[str]]) -> int:
    """Run a pod's storage step with the storage Secret's configuration, its progress printed as the
    storage-initializer's (what `get-logs -c storage-initializer` shows); the container's exit status."""
    try:
        config = StorageConfig(**json.loads(os.environ[CONFIG_ENV]))
        for line in work(config):
            print(f"storage-initializer: {line}", flush=True)
    except KeyError:
        print(f"storage-initializer: {CONFIG_ENV} is not set (the storage Secret is missing)", file=sys.stderr)
        return 2
    except MlkError as exc:
        print(f"storage-initializer: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
