"""Command jobs in a workspace: their records, names, and the preparation every runner starts from.

    $ws/jobs/<name>/job.json       what `job show` prints: the spec as resolved, compute, timestamps
    $ws/jobs/<name>/status.json    the runner's report (this machine) or the last one read from a cluster

Preparing a job registers its code and its data inputs (local paths, https URLs, data assets, other jobs'
outputs) as content-addressed trees and resolves its environment (registered, inline or one of Azure's
curated ones), so a runner on this machine and one on a cluster start from the same `Prepared` record.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlk.errors import NotFoundError, UsageError
from mlk.specs.bindings import literal_text
from mlk.workspace import assets
from mlk.workspace.files import private_dir, read_json, write_json
from mlk.workspace.home import Workspace
from mlk.workspace.jobinputs import data_input
from mlk.workspace.jobrecords import JOB_TERMINAL, LITERAL, Prepared, PreparedInput, PreparedOutput

Say = Callable[[str], None]
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$")
_ADJECTIVES = ("able", "bold", "brave", "calm", "clever", "eager", "gentle", "happy", "jolly", "keen", "lively")
_NOUNS = ("apple", "brush", "candle", "cloud", "garden", "lamp", "lemon", "river", "rose", "seed", "tomato")


def new_name() -> str:
    """A job name in Azure's shape (`happy_lemon_5kq2x8rz1m`)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    tail = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{tail}"


def folder(ws: Workspace, name: str) -> Path:
    if not NAME.match(name):
        raise UsageError(f"'{name}' is not a valid job name", hint="letters, digits, '-' and '_', 255 at most")
    return ws.root / "jobs" / name


def record(ws: Workspace, name: str) -> dict[str, Any]:
    found: dict[str, Any] | None = read_json(folder(ws, name) / "job.json", None)
    if found is None:
        raise NotFoundError(f"job '{name}' not found in workspace '{ws.name}'", hint="mlk job list shows the jobs")
    return found


def save_record(ws: Workspace, name: str, data: Mapping[str, Any]) -> None:
    private_dir(folder(ws, name))
    write_json(folder(ws, name) / "job.json", dict(data))


def names(ws: Workspace) -> list[str]:
    root = ws.root / "jobs"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / "job.json").is_file()]
    return [p.name for p in sorted(found, key=lambda p: (p / "job.json").stat().st_mtime)]


def status_of(ws: Workspace, name: str) -> dict[str, Any]:
    """The last status a runner reported (NotStarted when none has yet)."""
    found: dict[str, Any] = read_json(folder(ws, name) / "status.json", {"status": "NotStarted"})
    return found


def save_status(ws: Workspace, name: str, status: Mapping[str, Any]) -> None:
    write_json(folder(ws, name) / "status.json", dict(status))


def is_terminal(status: Mapping[str, Any]) -> bool:
    return status.get("status") in JOB_TERMINAL


def environment_definition(ws: Workspace, environment: Any) -> dict[str, Any]:
    """A job's environment: inline, one of Azure's curated ones, or registered in the workspace."""
    if isinstance(environment, Mapping):
        return dict(environment)
    from mlk.envs.curated import curated_definition

    curated = curated_definition(str(environment))
    if curated is not None:
        return curated
    registered = assets.resolve(ws, "environments", str(environment))
    return dict((registered.record or {})["definition"])


def _code(ws: Workspace, code: str | None, say: Say) -> str | None:
    if code is None:
        return None
    if code.startswith("azureml:"):
        return assets.resolve(ws, "code", code).digest
    registered = assets.register_tree(ws, "code", assets.ANONYMOUS, None, Path(code))
    say(f"code {registered.digest[:12]}: {registered.bytes_sent:,} bytes uploaded")
    return registered.digest


def _inputs(ws: Workspace, inputs: Mapping[str, Any], say: Say) -> dict[str, PreparedInput]:
    prepared: dict[str, PreparedInput] = {}
    for name, value in inputs.items():
        if not isinstance(value, Mapping):
            prepared[name] = {"type": LITERAL, "mode": "", "value": literal_text(value)}
            continue
        if value.get("type") in (None, "string", "number", "integer", "boolean") and "path" not in value:
            prepared[name] = {"type": LITERAL, "mode": "", "value": literal_text(value.get("default", ""))}
            continue
        prepared[name] = data_input(ws, name, value, say)
    return prepared


def _outputs(outputs: Mapping[str, Any]) -> dict[str, PreparedOutput]:
    return {
        name: {"type": str(o.get("type", "uri_folder")), "mode": str(o.get("mode", "rw_mount"))}
        for name, o in outputs.items()
        if isinstance(o, Mapping)
    }


def prepare(ws: Workspace, spec: Mapping[str, Any], name: str, compute: str, say: Say) -> Prepared:
    """Register what the job needs and resolve its environment: the record every runner starts from."""
    resources = spec.get("resources") or {}
    limits = spec.get("limits") or {}
    distribution = spec.get("distribution")
    environment = environment_definition(ws, spec["environment"])  # first: a bad name uploads nothing
    return {
        "name": name,
        "workspace": ws.name,
        "experiment_name": str(spec.get("experiment_name") or default_experiment()),
        "display_name": str(spec.get("display_name") or name),
        "command": str(spec["command"]),
        "code": _code(ws, spec.get("code"), say),
        "environment": environment,
        "environment_variables": {k: literal_text(v) for k, v in (spec.get("environment_variables") or {}).items()},
        "inputs": _inputs(ws, spec.get("inputs") or {}, say),
        "outputs": _outputs(spec.get("outputs") or {}),
        "instance_count": int(resources.get("instance_count", 1)),
        "instance_type": resources.get("instance_type"),
        "shm_size": resources.get("shm_size"),
        "distribution": dict(distribution) if distribution else None,
        "timeout": int(limits["timeout"]) if limits.get("timeout") else None,
        "compute": compute,
    }


def default_experiment() -> str:
    """Azure names a job's experiment after the folder the job was submitted from."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path.cwd().name) or "Default"


def now() -> float:
    return time.time()
