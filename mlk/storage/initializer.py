"""`python -m mlk.storage.initializer`: the storage-initializer init container of every model pod.

It fetches the model and the scoring code (content-addressed manifests, verified by SHA-256) into the
pod's emptyDir at /var/azureml-app, in Azure's layout: the model at azureml-models/<digest>/<its name>
(AZUREML_MODEL_DIR is azureml-models/<digest>), the code at <its folder name> (AML_APP_ROOT). Storage
credentials come from MLK_STORAGE_CONFIG (the storage Secret; a read-only SAS for blob storage).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from mlk.errors import MlkError
from mlk.storage import open_store
from mlk.storage.cas import load_manifest, materialize
from mlk.storage.config import StorageConfig

CONFIG_ENV = "MLK_STORAGE_CONFIG"


def fetch(config: StorageConfig, dest: Path, model: str | None, code: str | None) -> list[str]:
    """Materialise the model and code under `dest`; returns what it did, one line each."""
    done = []
    cache = dest / ".mlk-cache"
    with open_store(config) as store:
        if model:
            started = time.perf_counter()
            path = materialize(store, load_manifest(store, model), dest / "azureml-models", cache)
            done.append(f"model {model[:12]} -> {path} in {time.perf_counter() - started:.2f} s")
        if code:
            started = time.perf_counter()
            manifest = load_manifest(store, code)
            staged = materialize(store, manifest, dest / ".mlk-code", cache)
            target = dest / manifest.name
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(staged / manifest.name), target)
            done.append(f"code {code[:12]} -> {target} in {time.perf_counter() - started:.2f} s")
    shutil.rmtree(cache, ignore_errors=True)  # blobs are hard-linked into place: the cache only costs space
    shutil.rmtree(dest / ".mlk-code", ignore_errors=True)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlk.storage.initializer", description=__doc__)
    parser.add_argument("--model", help="digest of the model's manifest")
    parser.add_argument("--code", help="digest of the code's manifest")
    parser.add_argument("--dest", default="/var/azureml-app")
    args = parser.parse_args(argv)
    try:
        config = StorageConfig(**json.loads(os.environ[CONFIG_ENV]))
        for line in fetch(config, Path(args.dest), args.model, args.code):
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
