"""Fuzz target: a job's data paths as Azure's files write them — `azureml://datastores/<ds>/paths/<p>`
(and the long form naming the workspace), `azureml://jobs/<job>/outputs/<o>[/paths/<sub>]`.

The input is paths, one per line (decoded as argv and YAML strings are). Only UsageError may escape the
parsers; a datastore path they accept names a key that stays inside the storage (no '..', not absolute,
a clean key), on one of mlk's datastores; shortening the long form twice changes nothing; a job path
gives a job, an output and a folder that cannot climb out of the output (`..` is refused when it is read).
"""

from __future__ import annotations

from mlk.errors import UsageError
from mlk.storage.base import check_key
from mlk.workspace import datastores, jobinputs
from tests.fuzz.harness import check

MAX_PATHS = 8
MAX_LEN = 2048


def TestOneInput(data: bytes) -> None:
    for path in data.decode("utf-8", "surrogateescape").split("\n")[:MAX_PATHS]:
        _datastore(path)
        _job(path)


def _datastore(path: str) -> None:
    short = datastores.short_form(path)
    check(datastores.short_form(short) == short, f"short_form is not idempotent on {path!r}")
    check(datastores.is_datastore_path(path) == short.startswith("azureml://datastores/"), f"{path!r}")
    try:
        name, key, _ = datastores._parse_datastore_path(path)
    except UsageError as exc:
        check(isinstance(exc.message, str) and exc.message, "a UsageError without a message")
        return
    check(name.lower() in datastores.WORKSPACE_DATASTORES, f"{path!r} reached datastore {name!r}")
    check(bool(key) and not key.startswith("/") and ".." not in key.split("/"), f"{path!r} → key {key!r}")
    check(check_key(key) == key, f"{path!r} → an unclean key {key!r}")


def _job(path: str) -> None:
    if not jobinputs.is_job_path(path):
        return
    try:
        job, output, sub = jobinputs._parse_job_path(path)
    except UsageError as exc:
        check(isinstance(exc.message, str) and exc.message, "a UsageError without a message")
        return
    check(bool(job) and "/" not in job and bool(output) and "/" not in output, f"{path!r} → {job!r}, {output!r}")
    check(not sub.startswith("/"), f"{path!r} → a folder {sub!r} from the root")
