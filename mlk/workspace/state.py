"""Endpoints and deployments as the user asked for them (the desired state), in state.json.

The agent reads this and makes it so; what it observed lives in runtime/status.json. Commands change
state only inside `mutate()` (lock, read, change, atomic write). A long command marks its endpoint with
an `operation` (kind, pid); another command on the same endpoint meanwhile gets a ConflictError, and a
marker left by a command that was killed is recognised (dead pid) and cleared by the next one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping

from mlk.errors import ConflictError, NotFoundError
from mlk.workspace import records
from mlk.workspace.files import locked, pid_alive, read_json, write_json
from mlk.workspace.home import Workspace
from mlk.workspace.records import DeploymentRecord, EndpointRecord, Operation, State


def load(ws: Workspace) -> State:
    """The desired state, in this mlk's record shapes (an older file is migrated as it is read)."""
    raw = read_json(ws.state_file, None)
    return records.empty() if raw is None else records.migrate(raw, str(ws.state_file))


@contextlib.contextmanager
def mutate(ws: Workspace) -> Iterator[State]:
    with locked(ws.lock_file):
        state = load(ws)
        yield state
        write_json(ws.state_file, state)


def _stored_name(names: Mapping[str, object], asked: str) -> str | None:
    """The stored key for `asked`: Azure's endpoint and deployment names have no case (`Blue` is `blue`)."""
    if asked in names:
        return asked
    return next((n for n in names if n.lower() == asked.lower()), None)


def endpoint_name(state: State, name: str) -> str:
    found = _stored_name(state["endpoints"], name)
    if found is None:
        raise NotFoundError(
            f"online endpoint '{name}' not found", hint="mlk online-endpoint list shows the endpoints of this workspace"
        )
    return found


def deployment_name(state: State, parent: str, name: str) -> str:
    found = _stored_name(endpoint(state, parent)["deployments"], name)
    if found is None:
        raise NotFoundError(
            f"online deployment '{name}' not found in endpoint '{parent}'",
            hint=f"mlk online-deployment list -e {parent}",
        )
    return found


def endpoint(state: State, name: str) -> EndpointRecord:
    return state["endpoints"][endpoint_name(state, name)]


def deployment(state: State, parent: str, name: str) -> DeploymentRecord:
    return endpoint(state, parent)["deployments"][deployment_name(state, parent, name)]


def stale_operation(record: EndpointRecord) -> Operation | None:
    """The operation left by a command that died, if any."""
    operation = record.get("operation")
    if operation and not pid_alive(operation.get("pid")):
        return operation
    return None


@contextlib.contextmanager
def operation(ws: Workspace, endpoint_name: str, kind: str) -> Iterator[None]:
    """Mark `endpoint_name` busy with `kind` for the duration; refuse if another live command holds it."""
    with mutate(ws) as state:
        record = state["endpoints"].get(endpoint_name)
        if record is not None:
            current = record.get("operation")
            if current and pid_alive(current.get("pid")) and current.get("pid") != os.getpid():
                raise ConflictError(
                    f"another operation is in progress on endpoint '{endpoint_name}': {current['kind']} "
                    f"(pid {current['pid']}, started {time.strftime('%H:%M:%S', time.localtime(current['started']))})",
                    hint="wait for it to finish (or stop that command), then try again",
                )
            record["operation"] = {"kind": kind, "pid": os.getpid(), "started": time.time()}
    try:
        yield
    finally:
        with mutate(ws) as state:
            record = state["endpoints"].get(endpoint_name)
            held = record.get("operation") if record is not None else None
            if record is not None and held is not None and held["pid"] == os.getpid():
                record["operation"] = None
