"""`mlk online-endpoint`: az ml's endpoint commands, on whatever compute the endpoint lives on.

Where an endpoint lives is decided once, at create (mlk.compute.placement); later commands follow it there
through the one `Compute` interface. `--local` (accepted by every command, as az's) names the endpoints
on this machine made with Azure's local-endpoint rules.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Add, ForceString, Local, Name, NoWait, Remove, SetValues, Yes, command

app = typer.Typer(
    help="Online endpoints: create, update traffic, invoke, get credentials, delete.", no_args_is_help=True
)
File = Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="Endpoint YAML (az ml format).")]
Required = Annotated[str, typer.Option("--name", "-n", help="Endpoint name.")]
COLUMNS = ["name", "provisioning_state", "auth_mode", "scoring_uri"]  # the human summary


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


def _shown(ws: Any, view: dict[str, Any]) -> dict[str, Any]:
    from mlk.workspace.arm import endpoint_fields

    return endpoint_fields(ws.name, view)


def _compute(ws: Any, name: str, local: bool) -> Any:
    from mlk.compute.placement import of_endpoint

    return of_endpoint(ws, name, local=local)


@command(app, "create", help="Create an endpoint.")
def create(
    file: File = None,
    name: Name = None,
    auth_mode: Annotated[str | None, typer.Option("--auth-mode", help="key or aml_token.")] = None,
    local: Local = False,
    no_wait: NoWait = False,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.compute.placement import for_new_endpoint

    spec = load(file, "online-endpoint", set_values=set_values, overrides={"name": name, "auth_mode": auth_mode})
    ws = _ws()
    created = for_new_endpoint(ws, spec, local).create_endpoint(spec, wait=not no_wait, say=console.info)
    console.result(_shown(ws, created), columns=COLUMNS)


@command(app, "update", help='Update traffic (--traffic "blue=90 green=10"), mirror traffic, description, tags.')
def update(
    name: Name = None,
    file: File = None,
    traffic: Annotated[str | None, typer.Option("--traffic", help='e.g. "blue=90 green=10"')] = None,
    mirror_traffic: Annotated[str | None, typer.Option("--mirror-traffic", help='e.g. "green=10"')] = None,
    local: Local = False,
    set_values: SetValues = None,
    add: Add = None,
    remove: Remove = None,
    force_string: ForceString = False,
) -> None:
    from mlk.cli.specs_input import GenericUpdate, load, stored_with
    from mlk.errors import UsageError
    from mlk.specs.traffic import parse_traffic

    edits = GenericUpdate.given(set_values, add, remove, force_string)
    spec = None
    if file is not None:
        if edits.add or edits.remove:
            raise UsageError("--add and --remove change the stored endpoint: leave out -f", hint="or edit the file")
        spec = load(file, "online-endpoint", set_values=list(edits.set_values), overrides={"name": name})
    elif edits:  # generic update of the stored endpoint, validated again
        if not name:
            raise UsageError("which endpoint? give -n NAME with --set/--add/--remove")
        from mlk.workspace import state

        ws = _ws()
        _compute(ws, name, local)  # with --local: only an endpoint on this machine
        spec = stored_with(state.endpoint(state.load(ws), name)["spec"], edits, "online-endpoint")
    target = name or (spec or {}).get("name")
    if not target:
        raise UsageError("which endpoint? give -n NAME or -f FILE")
    ws = _ws()
    shares = parse_traffic(traffic) if traffic is not None else None
    mirror = parse_traffic(mirror_traffic, "--mirror-traffic") if mirror_traffic is not None else None
    updated = _compute(ws, target, local).update_endpoint(target, spec=spec, traffic=shares, mirror=mirror)
    console.result(_shown(ws, updated))


@command(app, "show", help="Show an endpoint (scoring_uri, traffic, provisioning_state).")
def show(name: Required, local: Local = False) -> None:
    ws = _ws()
    console.result(_shown(ws, _compute(ws, name, local).show_endpoint(name)), columns=COLUMNS)


@command(app, "list", help="List the endpoints of the workspace.")
def list_(local: Local = False) -> None:
    from mlk.compute.placement import endpoint_names

    ws = _ws()
    shown = [_shown(ws, _compute(ws, n, local).show_endpoint(n)) for n in endpoint_names(ws, local=local)]
    console.result(shown, columns=COLUMNS)


@command(app, "delete", help="Delete an endpoint and its deployments.")
def delete(name: Required, yes: Yes = False, no_wait: NoWait = False, local: Local = False) -> None:
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete endpoint '{name}' and all its deployments?"):
        raise typer.Exit(1)
    ws = _ws()
    _compute(ws, name, local).delete_endpoint(name)
    console.info(f"deleted online endpoint '{name}'")


@command(app, "invoke", help="Score: send a request file to the endpoint (or one deployment with -d).")
def invoke(
    name: Required,
    request_file: Annotated[Path, typer.Option("--request-file", "-r", help="JSON body to send.")],
    deployment_name: Annotated[
        str | None,
        typer.Option("--deployment-name", "--deployment", "-d", help="Send to this deployment, whatever the traffic."),
    ] = None,
    local: Local = False,
) -> None:
    from mlk.errors import UsageError

    try:
        body = request_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {request_file}: {exc.strerror}") from None
    ws = _ws()
    console.result(_compute(ws, name, local).invoke(name, body, deployment_name))


@command(app, "get-credentials", help="The endpoint's keys (key auth) or a fresh token (aml_token auth).")
def get_credentials(name: Required, local: Local = False) -> None:
    ws = _ws()
    console.result(_compute(ws, name, local).credentials(name))


@command(app, "regenerate-keys", help="Replace the primary or secondary key (effective at once, no restart).")
def regenerate_keys(
    name: Required,
    key_type: Annotated[str, typer.Option("--key-type", help="primary or secondary.")] = "primary",
    local: Local = False,
) -> None:
    from mlk.errors import UsageError

    if key_type not in ("primary", "secondary"):
        raise UsageError(f"--key-type {key_type}: use primary or secondary")
    ws = _ws()
    _compute(ws, name, local).regenerate_key(name, key_type)
    console.info(f"regenerated the {key_type} key of '{name}' (mlk online-endpoint get-credentials -n {name})")
