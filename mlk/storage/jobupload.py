"""`python -m mlk.storage.jobupload`: the uploader beside a command job's training container.

It waits for <dest>/.mlk/exit-code (the training container writes it when the command ends, success or
failure), then on rank 0 uploads each output folder <dest>/outputs/<name> and the artifacts (the code
folder's ./outputs and ./logs, user_logs/std_log_process_<rank>.txt, and what the job's MLflow run logged,
fetched from the cluster's tracking server) as content-addressed trees, and
writes their manifest digests at output_key (mlk.storage.jobkeys) last, so a reader never sees a digest
whose tree is incomplete. It exits with the command's code, so the pod ends as the command did. The
other ranks upload nothing (as on Azure, a job's outputs are rank 0's).

`write_url` makes the storage configuration these pods get: the uploader writes, so theirs is a SAS with
read, list, create and write (no delete), made by the operator from the workspace's credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from mlk.errors import MlkError
from mlk.storage import mlflowrest, open_store
from mlk.storage.cas import hash_tree, upload_tree
from mlk.storage.config import StorageConfig
from mlk.storage.jobinit import CONFIG_ENV, STATE
from mlk.storage.jobkeys import output_key

ARTIFACTS = "artifacts"
"""As mlk.workspace.jobrecords.ARTIFACTS (storage sits below the workspace)."""
EXIT_CODE_FILE = "exit-code"
UPLOAD_FAILED = 1


def wait_for_exit_code(state: Path, poll_s: float = 0.5) -> int:
    path = state / EXIT_CODE_FILE
    while not path.exists():
        time.sleep(poll_s)
    text = path.read_text(encoding="utf-8").strip()
    return int(text) if text.lstrip("-").isdigit() else UPLOAD_FAILED


def artifacts_tree(dest: Path) -> Path:
    """The artifacts output, assembled under .mlk: outputs/ and logs/ of the code folder, user_logs/."""
    root = dest / STATE / "artifacts-tree" / ARTIFACTS
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for part in ("outputs", "logs"):
        if (dest / "code" / part).is_dir():
            shutil.copytree(dest / "code" / part, root / part, symlinks=False)
    if (dest / STATE / "user_logs").is_dir():
        shutil.copytree(dest / STATE / "user_logs", root / "user_logs")
    run = mlflowrest.from_environment()
    if run is not None:
        try:
            count = mlflowrest.download_run(run[0], run[1], root, auth=run[2])
            print(f"uploader: {count} files logged to MLflow run {run[1]}", flush=True)
        except MlkError as exc:  # the outputs still go up; the run's artifacts stay on the tracking server
            print(f"uploader: the MLflow run's artifacts: {exc.message}", file=sys.stderr, flush=True)
    return root


def upload(config: StorageConfig, dest: Path, job: str, outputs: list[str]) -> list[str]:
    """Upload every output and the artifacts, then record their digests; what it did, one line each."""
    trees = {name: dest / "outputs" / name for name in outputs}
    trees[ARTIFACTS] = artifacts_tree(dest)
    digests, done = {}, []
    with open_store(config) as store:
        for name, folder in trees.items():
            folder.mkdir(parents=True, exist_ok=True)  # an output the command never wrote is an empty one
            started = time.perf_counter()
            manifest = hash_tree(folder)
            sent = upload_tree(store, folder, manifest)
            digests[name] = manifest.digest
            done.append(
                f"output {name}: {len(manifest.files)} files, {sent.bytes_sent} bytes sent, "
                f"{manifest.digest[:12]} in {time.perf_counter() - started:.2f} s"
            )
        for name, digest in digests.items():  # last: a digest names a complete tree
            store.put_bytes(output_key(job, name), digest.encode("ascii"))
    return done


def write_url(config: StorageConfig, hours: float) -> tuple[dict[str, Any], float | None]:
    """(the job pods' storage configuration, its expiry as epoch seconds or None): a read-write SAS of the
    workspace's container; a workspace that only has a SAS URL hands it on (its own permissions apply)."""
    if config.type != "blob":
        raise MlkError("the workspace's storage is a local folder; pods can only use blob storage")
    if config.sas_url:
        return {"type": "blob", "sas_url": config.sas_url}, None
    from datetime import UTC, datetime, timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from mlk.storage.blob import BlobStore, sas_protocol

    with BlobStore(config) as store:
        client = store._client  # BlobStore offers a read-only URL only (read_url); the same client signs this
        account_key = getattr(client.credential, "account_key", None)
        if not account_key:
            raise MlkError("a job's pods need a SAS made with the account key", hint="configure an account key")
        now = datetime.now(UTC)
        base = client.url.split("?", 1)[0].rstrip("/")
        sas = generate_container_sas(
            account_name=client.account_name or "",
            container_name=client.container_name,
            account_key=account_key,
            permission=ContainerSasPermissions(read=True, list=True, create=True, write=True),
            start=now - timedelta(minutes=5),  # tolerate clock skew
            expiry=now + timedelta(hours=hours),
            protocol=sas_protocol(base),
        )
    return {"type": "blob", "sas_url": f"{base}?{sas}"}, time.time() + hours * 3600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlk.storage.jobupload", description=__doc__)
    parser.add_argument("--job", required=True)
    parser.add_argument("--output", action="append", default=[], metavar="NAME")
    parser.add_argument("--dest", default="/mnt/azureml")
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    if int(os.environ.get("NODE_RANK") or 0) == 0:  # the storage client's imports (a second or two) while
        import mlk.storage.blob  # noqa: F401  # the command runs, not after it
    code = wait_for_exit_code(dest / STATE)
    print(f"uploader: the command exited with code {code}", flush=True)
    if int(os.environ.get("NODE_RANK") or 0) != 0:
        return code
    try:
        config = StorageConfig(**json.loads(os.environ[CONFIG_ENV]))
        for line in upload(config, dest, args.job, args.output):
            print(f"uploader: {line}", flush=True)
    except KeyError:
        print(f"uploader: {CONFIG_ENV} is not set (the storage Secret is missing)", file=sys.stderr)
        return code or UPLOAD_FAILED
    except MlkError as exc:
        print(f"uploader: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), file=sys.stderr)
        return code or UPLOAD_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
