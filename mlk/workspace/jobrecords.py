"""The shapes of a command job once mlk has prepared it: what every runner (this machine, a cluster) gets.

Preparing a job (mlk.workspace.jobs) registers its code and data inputs as content-addressed trees in the
workspace's storage and resolves its environment to a definition, so a runner only has to materialise
digests, bind paths into the command (mlk.specs.bindings) and run it.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

JOB_STATUSES = ("NotStarted", "Queued", "Preparing", "Running", "Finalizing", "Completed", "Failed", "Canceled")
"""A job's status, in the order Azure ML moves through them."""
JOB_TERMINAL = ("Completed", "Failed", "Canceled")
ARTIFACTS = "artifacts"
"""The output every job has, as in Azure: ./outputs, ./logs, user_logs/ and what MLflow logged."""
DEFAULT_OUTPUT = "default"
"""Azure's other name for the same output (`--output-name default`)."""


def output_name(name: str) -> str:
    """An output's one name: Azure's `default` is `artifacts`."""
    return ARTIFACTS if name == DEFAULT_OUTPUT else name


LITERAL = "literal"


class PreparedInput(TypedDict):
    type: str
    """`literal`, or the data type: uri_file, uri_folder, mlflow_model, custom_model."""
    mode: str
    """ro_mount, download or direct (a literal: empty)."""
    value: NotRequired[str]
    """A literal's text, as the command sees it."""
    digest: NotRequired[str]
    """A data input's manifest digest in the workspace's storage."""
    file: NotRequired[str]
    """uri_file: the file's path inside the tree the digest names."""


class PreparedOutput(TypedDict):
    type: str
    """uri_folder, uri_file, mlflow_model or custom_model."""
    mode: str
    """rw_mount or upload: both upload the folder when the job ends, on this machine and on a cluster."""


class Prepared(TypedDict):
    """A job ready to run. The command keeps its `${{...}}` bindings: each runner binds its own paths."""

    name: str
    workspace: str
    experiment_name: str
    display_name: str
    command: str
    code: str | None
    """The code snapshot's manifest digest (None: the job has no code)."""
    environment: dict[str, Any]
    """The environment's definition: inline, registered or curated (conda_file inline, image, build)."""
    environment_variables: dict[str, str]
    inputs: dict[str, PreparedInput]
    outputs: dict[str, PreparedOutput]
    """The declared outputs (ARTIFACTS is implicit and not listed)."""
    instance_count: int
    instance_type: str | None
    shm_size: str | None
    distribution: dict[str, Any] | None
    """`{"type": "pytorch", "process_count_per_instance": N}`, mpi or tensorflow; None: one process."""
    timeout: int | None
    """limits.timeout in seconds."""
    compute: str
    tracking_uri: NotRequired[str]
    """The MLflow tracking server the job logs to (the runner's view of it), when there is one."""
    run_id: NotRequired[str]
    """The MLflow run that is this job (MLFLOW_RUN_ID)."""
    runtime: NotRequired[str]
    """On this machine: `docker` runs its ranks as containers of `image` (else processes)."""
    image: NotRequired[str]
    """The environment's image, resolved when the job was created (the Docker runtime, a cluster)."""
