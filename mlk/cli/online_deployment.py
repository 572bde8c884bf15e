"""`mlk online-deployment`: az ml's deployment commands, on the compute their endpoint lives on.

Not supported yet: --local with Docker (the images issue), --package-model.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import EndpointName, Local, Name, NoWait, SetValues, Yes, command

app = typer.Typer(help="Online deployments: create (and route traffic), update, logs, delete.", no_args_is_help=True)
File = Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="Deployment YAML (az ml format).")]
Required = Annotated[str, typer.Option("--name", "-n", help="Deployment name.")]
Endpoint = Annotated[str, typer.Option("--endpoint-name", "--endpoint", "-e", help="Endpoint name.")]
COLUMNS = ["name", "endpoint_name", "provisioning_state", "model", "instance_count"]  # -o table / tsv
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
    console.result(_deploy(_ws(), spec, all_traffic=all_traffic, wait=not no_wait, runtime=runtime), columns=COLUMNS)


def _deploy(
    ws: Any, spec: Any, *, all_traffic: bool, wait: bool, runtime: str | None, update: bool = False
) -> dict[str, Any]:
    """Create or update on the endpoint's compute: this machine (with the live build view) or a cluster."""
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.storage.progress import progress_bar

    compute = of_endpoint(ws, spec["endpoint_name"])
    if is_local(compute):
        from mlk.cli.builds_view import live_lines
        from mlk.local import deployments

        with live_lines("building the environment's image") as on_lines:
            return deployments.create(
                ws,
                spec,
                all_traffic=all_traffic,
                wait=wait,
                say=_say,
                progress=progress_bar,
                update=update,
                runtime_kind=runtime,
                on_lines=on_lines,
            )
    from mlk.kube import deployments as kube_deployments

    return kube_deployments.create(
        ws, spec, compute, all_traffic=all_traffic, wait=wait, say=_say, progress=progress_bar, update=update
    )


@command(app, "update", help="Update a deployment (-f FILE, or --set on the current one, e.g. instance_count=2).")
def update(
    file: File = None,
    name: Name = None,
    endpoint_name: EndpointName = None,
    no_wait: NoWait = False,
    set_values: SetValues = None,
    skip_script_validation: SkipScript = False,
    runtime: Runtime = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.errors import UsageError
    from mlk.workspace import state

    ws = _ws()
    if file is not None:
        spec = load(
            file,
            "online-deployment",
            set_values=set_values,
            overrides={"name": name, "endpoint_name": endpoint_name},
            skip_script_validation=skip_script_validation,
        )
    else:
        if not (name and endpoint_name):
            raise UsageError("give -f FILE, or -n NAME -e ENDPOINT with --set")
        from mlk.cli.specs_input import stored_with

        spec = stored_with(
            state.deployment(state.load(ws), endpoint_name, name)["spec"], set_values or [], "online-deployment"
        )
    if runtime is None:  # on this machine an update keeps the runtime the deployment was created with
        stored = state.load(ws)["endpoints"].get(spec["endpoint_name"], {}).get("deployments", {}).get(spec["name"])
        runtime = ((stored or {}).get("run") or {}).get("runtime")
    console.result(_deploy(ws, spec, all_traffic=False, wait=not no_wait, runtime=runtime, update=True))


@command(app, "show", help="Show a deployment (provisioning_state, replicas, the failure when there is one).")
def show(name: Required, endpoint_name: Endpoint) -> None:
    from mlk.cli.placement import is_local, of_endpoint

    ws = _ws()
    compute = of_endpoint(ws, endpoint_name)
    if is_local(compute):
        from mlk.local import deployments

        console.result(deployments.show(ws, endpoint_name, name), columns=COLUMNS)
        return
    from mlk.kube import deployments as kube_deployments

    console.result(kube_deployments.show(ws, endpoint_name, name, compute), columns=COLUMNS)


@command(app, "list", help="List an endpoint's deployments.")
def list_(endpoint_name: Endpoint) -> None:
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.local import deployments
    from mlk.workspace import state

    ws = _ws()
    compute = of_endpoint(ws, endpoint_name)
    if not is_local(compute):
        from mlk.kube import deployments as kube_deployments

        console.result(
            kube_deployments.listing(ws, endpoint_name, compute),
            columns=["name", "endpoint_name", "provisioning_state", "instance_count"],
        )
        return
    names = [
        n for n, d in state.endpoint(state.load(ws), endpoint_name)["deployments"].items() if not d.get("deleting")
    ]
    console.result(
        [deployments.show(ws, endpoint_name, n) for n in sorted(names)],
        columns=["name", "endpoint_name", "provisioning_state", "instance_count"],
    )


@command(app, "delete", help="Delete a deployment (it must have no traffic left).")
def delete(name: Required, endpoint_name: Endpoint, yes: Yes = False, no_wait: NoWait = False) -> None:
    from mlk.cli.placement import is_local, of_endpoint

    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete deployment '{name}' of '{endpoint_name}'?"):
        raise typer.Exit(1)
    ws = _ws()
    compute = of_endpoint(ws, endpoint_name)
    if is_local(compute):
        from mlk.local import deployments

        deployments.delete(ws, endpoint_name, name)
    else:
        from mlk.kube import deployments as kube_deployments

        kube_deployments.delete(ws, endpoint_name, name, compute)
    console.info(f"deleted online deployment '{name}'")


@command(app, "get-logs", help="What the deployment's containers printed (score.py's output, init() tracebacks).")
def get_logs(
    name: Required,
    endpoint_name: Endpoint,
    lines: Annotated[int, typer.Option("--lines", "-l", help="How many lines, from the end.")] = 5000,
    container: Annotated[
        str, typer.Option("--container", "-c", help="inference-server or storage-initializer.")
    ] = "inference-server",
) -> None:
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.errors import UsageError

    if container not in ("inference-server", "storage-initializer"):
        raise UsageError(f"--container {container}: use inference-server or storage-initializer")
    ws = _ws()
    compute = of_endpoint(ws, endpoint_name)
    if is_local(compute):
        from mlk.local import deployments

        console.print(deployments.logs(ws, endpoint_name, name, lines, container))
        return
    from mlk.kube import deployments as kube_deployments

    console.print(kube_deployments.logs(ws, endpoint_name, name, compute, lines, container))
