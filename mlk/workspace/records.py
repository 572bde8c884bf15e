"""The shapes kept in a workspace's state.json, one each, and the version they are written with.

state.json holds what the user asked for (endpoints, their deployments, traffic); each deployment on the
embedded default also keeps how its replicas run (`run`), which has one shape per runtime, told apart by
`runtime`. Records are TypedDicts: the file is JSON, and commands change them in place under the lock.

Versions: 1 (no `version` key) is what mlk wrote before the records were typed: a process run without
`runtime`, and endpoints on a cluster without `mirror_traffic`. `migrate` brings any older file to
STATE_VERSION when it is read; the next write stores it so. A file from a newer mlk is refused rather
than rewritten without the fields this one does not know.
"""

from __future__ import annotations

from typing import Any, Final, Literal, NotRequired, TypedDict

from mlk.errors import MlkError

STATE_VERSION = 2
PROCESS: Final = "process"
DOCKER: Final = "docker"


class Operation(TypedDict):
    """A long command holding an endpoint (mlk.workspace.state.operation)."""

    kind: str
    pid: int
    started: float


class ProcessRun(TypedDict):
    """A deployment whose replicas are `mlk serve` processes in a virtual environment."""

    runtime: Literal["process"]
    python: str
    code_dir: str
    model_dir: str
    scoring_script: str


class AssetRef(TypedDict):
    digest: str
    name: str


class DockerRun(TypedDict):
    """A deployment whose replicas are containers, as a pod's (the Docker runtime)."""

    runtime: Literal["docker"]
    image: str
    system_image: str
    model: AssetRef | None
    code: AssetRef
    storage: dict[str, Any]
    store_path: str
    scoring_script: str


Run = ProcessRun | DockerRun


class DeploymentRecord(TypedDict):
    spec: dict[str, Any]
    generation: NotRequired[int]
    created: NotRequired[float]
    updated: NotRequired[float]
    deleting: NotRequired[bool]
    model: NotRequired[str | None]
    code: NotRequired[str | None]
    environment: NotRequired[dict[str, Any]]
    run: NotRequired[Run]
    """On the embedded default only; a cluster's operator keeps its own."""


class EndpointRecord(TypedDict):
    spec: dict[str, Any]
    compute: str
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    deployments: dict[str, DeploymentRecord]
    created: NotRequired[float]
    operation: NotRequired[Operation | None]
    deleting: NotRequired[bool]
    azure_local: NotRequired[bool]
    """Created with --local: Azure's local-endpoint rules (mlk.local.compute)."""


class State(TypedDict):
    version: int
    endpoints: dict[str, EndpointRecord]


class NewerStateError(MlkError):
    exit_code = 2


def empty() -> State:
    return {"version": STATE_VERSION, "endpoints": {}}


def migrate(raw: dict[str, Any], where: str) -> State:
    """`raw` (state.json as read) in this version's shapes."""
    version = int(raw.get("version", 1))
    if version > STATE_VERSION:
        raise NewerStateError(
            f"{where} was written by a newer mlk (state version {version}; this mlk knows {STATE_VERSION})",
            hint="upgrade mlk (pip install -U mlk); this one would lose what it does not know",
        )
    endpoints: dict[str, Any] = raw.get("endpoints") or {}
    for endpoint in endpoints.values():
        endpoint.setdefault("compute", "local")
        endpoint.setdefault("traffic", {})
        endpoint.setdefault("mirror_traffic", {})
        endpoint.setdefault("deployments", {})
        for deployment in endpoint["deployments"].values():
            run = deployment.get("run")
            if run is not None:
                run.setdefault("runtime", PROCESS)  # version 1 wrote a process run without it
    state: State = {"version": STATE_VERSION, "endpoints": endpoints}
    return state
