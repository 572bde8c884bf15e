"""`mlk online-deployment`: az ml's deployment commands, on the compute their endpoint lives on.

Every command goes through the endpoint's `Compute` (mlk.compute.placement). Not supported yet:
--package-model.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Add, EndpointName, ForceString, Local, Name, NoWait, Remove, SetValues, Yes, command

app = typer.Typer(help="Online deployments: create (and route traffic), update, logs, delete.", no_args_is_help=True)
File = Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="Deployment YAML (az ml format).")]
Required = Annotated[str, typer.Option("--name", "-n", help="Deployment name.")]
Endpoint = Annotated[str, typer.Option("--endpoint-name", "--endpoint", "-e", help="Endpoint name.")]
COLUMNS = ["name", "endpoint_name", "provisioning_state", "model", "instance_count"]  # the human summary
SkipScript = Annotated[bool, typer.Option("--skip-script-validation", help="Do not compile the scoring script.")]
Runtime = Annotated[
    str | None,
    typer.Option(
        "--runtime", help="On this machine: process (a virtual environment) or docker (the pod's containers)."
    ),
]


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


def _say(text: str) -> None:
    console.warning(text.removeprefix("WARNING: ")) if text.startswith("WARNING: ") else console.info(text)


def _compute(ws: Any, endpoint: str, local: bool) -> Any:
    from mlk.compute.placement import of_endpoint

    return of_endpoint(ws, endpoint, local=local)


def _shown(ws: Any, view: dict[str, Any]) -> dict[str, Any]:
    from mlk.workspace.arm import deployment_fields

    return deployment_fields(ws.name, view)


@command(app, "create", help="Create a deployment: upload model and code, build the environment, start it.")
def create(
    file: File = None,
    name: Name = None,
    endpoint_name: EndpointName = None,
    all_traffic: Annotated[bool, typer.Option("--all-traffic", help="Send all traffic to it once ready.")] = False,
    local: Local = False,
    no_wait: NoWait = False,
    set_values: SetValues = None,
    skip_script_validation: SkipScript = False,
    runtime: Runtime = None,
) -> None:
    from mlk.cli.specs_input import load

    spec = load(
        file,
        "online-deployment",
        set_values=set_values,
        overrides={"name": name, "endpoint_name": endpoint_name},
        skip_script_validation=skip_script_validation,
    )
    ws = _ws()
    made = _deploy(ws, spec, local, all_traffic=all_traffic, wait=not no_wait, runtime=runtime)
    console.result(_shown(ws, made), columns=COLUMNS)


def _deploy(
    ws: Any, spec: Any, local: bool, *, all_traffic: bool, wait: bool, runtime: str | None, update: bool = False
) -> dict[str, Any]:
    """Create or update on the endpoint's compute, showing an image build's output as it comes."""
    from mlk.cli.builds_view import live_lines
    from mlk.storage.progress import progress_bar

    compute = _compute(ws, spec["endpoint_name"], local)
    with live_lines("building the environment's image") as on_lines:
        return compute.deploy(  # type: ignore[no-any-return]
            spec,
            all_traffic=all_traffic,
            wait=wait,
            update=update,
            say=_say,
            progress=progress_bar,
            runtime=runtime,
            on_lines=on_lines,
        )


@command(app, "update", help="Update a deployment (-f FILE, or --set/--add/--remove on the current one).")
def update(
    file: File = None,
    name: Name = None,
    endpoint_name: EndpointName = None,
    local: Local = False,
    no_wait: NoWait = False,
    set_values: SetValues = None,
    add: Add = None,
    remove: Remove = None,
    force_string: ForceString = False,
    skip_script_validation: SkipScript = False,
    runtime: Runtime = None,
) -> None:
    from mlk.cli.specs_input import GenericUpdate, load, stored_with
    from mlk.errors import UsageError
    from mlk.workspace import state

    ws = _ws()
    edits = GenericUpdate.given(set_values, add, remove, force_string)
    if file is not None:
        if edits.add or edits.remove:
            raise UsageError("--add and --remove change the stored deployment: leave out -f", hint="or edit the file")
        spec = load(
            file,
            "online-deployment",
            set_values=list(edits.set_values),
            overrides={"name": name, "endpoint_name": endpoint_name},
            skip_script_validation=skip_script_validation,
        )
    else:
        if not (name and endpoint_name):
            raise UsageError("give -f FILE, or -n NAME -e ENDPOINT with --set/--add/--remove")
        _compute(ws, endpoint_name, local)  # with --local: only an endpoint on this machine
        spec = stored_with(state.deployment(state.load(ws), endpoint_name, name)["spec"], edits, "online-deployment")
    updated = _deploy(ws, spec, local, all_traffic=False, wait=not no_wait, runtime=runtime, update=True)
    console.result(_shown(ws, updated))


@command(app, "show", help="Show a deployment (provisioning_state, replicas, the failure when there is one).")
def show(name: Required, endpoint_name: Endpoint, local: Local = False) -> None:
    ws = _ws()
    console.result(_shown(ws, _compute(ws, endpoint_name, local).show_deployment(endpoint_name, name)), columns=COLUMNS)


@command(app, "list", help="List an endpoint's deployments.")
def list_(endpoint_name: Endpoint, local: Local = False) -> None:
    ws = _ws()
    shown = [_shown(ws, d) for d in _compute(ws, endpoint_name, local).list_deployments(endpoint_name)]
    console.result(shown, columns=["name", "endpoint_name", "provisioning_state", "instance_count"])


@command(app, "delete", help="Delete a deployment (it must have no traffic left).")
def delete(
    name: Required, endpoint_name: Endpoint, yes: Yes = False, no_wait: NoWait = False, local: Local = False
) -> None:
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete deployment '{name}' of '{endpoint_name}'?"):
        raise typer.Exit(1)
    ws = _ws()
    _compute(ws, endpoint_name, local).delete_deployment(endpoint_name, name)
    console.info(f"deleted online deployment '{name}'")


@command(app, "get-logs", help="What the deployment's containers printed (score.py's output, init() tracebacks).")
def get_logs(
    name: Required,
    endpoint_name: Endpoint,
    lines: Annotated[
        int, typer.Option("--lines", "-l", help="How many lines in all, from the end (at most 5000, as in az).")
    ] = 5000,
    container: Annotated[
        str, typer.Option("--container", "-c", help="inference-server or storage-initializer.")
    ] = "inference-server",
    local: Local = False,
) -> None:
    from mlk.compute.base import LOG_CONTAINERS
    from mlk.errors import UsageError
    from mlk.workspace.replica_logs import MAX_LINES

    if container not in LOG_CONTAINERS:
        raise UsageError(f"--container {container}: use " + " or ".join(LOG_CONTAINERS))
    if not 1 <= lines <= MAX_LINES:
        raise UsageError(f"--lines {lines}: give a number from 1 to {MAX_LINES}")
    ws = _ws()
    console.print(_compute(ws, endpoint_name, local).logs(endpoint_name, name, lines=lines, container=container))
