"""`mlk online-endpoint`: az ml's endpoint commands, on the embedded default or an attached cluster.

Where an endpoint lives is decided once, at create (mlk.cli.placement); later commands follow it there.
Not supported yet: --no-wait on update, --add/--remove.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Local, Name, NoWait, SetValues, Yes, command

app = typer.Typer(
    help="Online endpoints: create, update traffic, invoke, get credentials, delete.", no_args_is_help=True
)
File = Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="Endpoint YAML (az ml format).")]
Required = Annotated[str, typer.Option("--name", "-n", help="Endpoint name.")]
COLUMNS = ["name", "provisioning_state", "auth_mode", "scoring_uri"]  # -o table / tsv


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


@command(app, "create", help="Create an endpoint.")
def create(
    file: File = None,
    name: Name = None,
    auth_mode: Annotated[str | None, typer.Option("--auth-mode", help="key or aml_token.")] = None,
    local: Local = False,
    no_wait: NoWait = False,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.placement import for_new_endpoint, is_local
    from mlk.cli.specs_input import load

    spec = load(file, "online-endpoint", set_values=set_values, overrides={"name": name, "auth_mode": auth_mode})
    ws = _ws()
    compute = for_new_endpoint(ws, spec, local)
    if is_local(compute):
        from mlk.local import endpoints

        console.result(endpoints.create(ws, spec, compute["name"]), columns=COLUMNS)
        return
    from mlk.kube import endpoints as kube_endpoints

    console.result(kube_endpoints.create(ws, spec, compute, wait=not no_wait, say=console.info), columns=COLUMNS)


@command(app, "update", help='Update traffic (--traffic "blue=90 green=10"), mirror traffic, description, tags.')
def update(
    name: Name = None,
    file: File = None,
    traffic: Annotated[str | None, typer.Option("--traffic", help='e.g. "blue=90 green=10"')] = None,
    mirror_traffic: Annotated[str | None, typer.Option("--mirror-traffic", help='e.g. "green=10"')] = None,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.cli.specs_input import load
    from mlk.errors import UsageError
    from mlk.specs.traffic import parse_traffic

    spec = None
    if file is not None:
        spec = load(file, "online-endpoint", set_values=set_values, overrides={"name": name})
    elif set_values:  # --set on the stored endpoint, validated again
        from mlk.cli.specs_input import stored_with
        from mlk.workspace import state

        if not name:
            raise UsageError("which endpoint? give -n NAME with --set")
        stored = state.endpoint(state.load(_ws()), name)["spec"]
        spec = stored_with(stored, set_values, "online-endpoint")
    target = name or (spec or {}).get("name")
    if not target:
        raise UsageError("which endpoint? give -n NAME or -f FILE")
    ws = _ws()
    compute = of_endpoint(ws, target)
    shares = parse_traffic(traffic) if traffic is not None else None
    mirror = parse_traffic(mirror_traffic, "--mirror-traffic") if mirror_traffic is not None else None
    if is_local(compute):
        from mlk.local import endpoints

        console.result(endpoints.update(ws, target, spec=spec, traffic=shares, mirror=mirror))
        return
    from mlk.kube import endpoints as kube_endpoints

    console.result(kube_endpoints.update(ws, target, compute, spec=spec, traffic=shares, mirror=mirror))


@command(app, "show", help="Show an endpoint (scoring_uri, traffic, provisioning_state).")
def show(name: Required) -> None:
    console.result(_view(_ws(), name), columns=COLUMNS)


def _view(ws: Any, name: str) -> dict[str, Any]:
    from mlk.cli.placement import is_local, of_endpoint

    compute = of_endpoint(ws, name)
    if is_local(compute):
        from mlk.local import endpoints
        from mlk.workspace import state

        return endpoints.view(ws, name, state.endpoint(state.load(ws), name))
    from mlk.kube import endpoints as kube_endpoints

    return kube_endpoints.show(ws, name, compute)


@command(app, "list", help="List the endpoints of the workspace.")
def list_() -> None:
    from mlk.workspace import state

    ws = _ws()
    names = [n for n, r in sorted(state.load(ws)["endpoints"].items()) if not r.get("deleting")]
    console.result([_view(ws, n) for n in names], columns=COLUMNS)


@command(app, "delete", help="Delete an endpoint and its deployments.")
def delete(name: Required, yes: Yes = False, no_wait: NoWait = False) -> None:
    from mlk.cli.placement import is_local, of_endpoint

    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete endpoint '{name}' and all its deployments?"):
        raise typer.Exit(1)
    ws = _ws()
    compute = of_endpoint(ws, name)
    if is_local(compute):
        from mlk.local import endpoints

        endpoints.delete(ws, name)
    else:
        from mlk.kube import endpoints as kube_endpoints

        kube_endpoints.delete(ws, name, compute)
    console.info(f"deleted online endpoint '{name}'")


@command(app, "invoke", help="Score: send a request file to the endpoint (or one deployment with -d).")
def invoke(
    name: Required,
    request_file: Annotated[Path, typer.Option("--request-file", "-r", help="JSON body to send.")],
    deployment_name: Annotated[
        str | None,
        typer.Option("--deployment-name", "--deployment", "-d", help="Send to this deployment, whatever the traffic."),
    ] = None,
) -> None:
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.errors import UsageError

    try:
        body = request_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {request_file}: {exc.strerror}") from None
    ws = _ws()
    compute = of_endpoint(ws, name)
    if is_local(compute):
        from mlk.local import endpoints

        console.result(endpoints.invoke(ws, name, body, deployment_name))
        return
    from mlk.kube import invoke as kube_invoke

    console.result(kube_invoke.invoke(ws, name, compute, body, deployment_name))


@command(app, "get-credentials", help="The endpoint's keys (key auth) or a fresh token (aml_token auth).")
def get_credentials(name: Required) -> None:
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.workspace import keys, state

    ws = _ws()
    compute = of_endpoint(ws, name)
    if is_local(compute):
        record = state.endpoint(state.load(ws), name)
        console.result(keys.credentials(ws, name, record["spec"].get("auth_mode", "key")))
        return
    from mlk.kube import endpoints as kube_endpoints

    console.result(kube_endpoints.get_credentials(ws, name, compute))


@command(app, "regenerate-keys", help="Replace the primary or secondary key (effective at once, no restart).")
def regenerate_keys(
    name: Required, key_type: Annotated[str, typer.Option("--key-type", help="primary or secondary.")] = "primary"
) -> None:
    from mlk.cli.placement import is_local, of_endpoint
    from mlk.errors import UsageError

    if key_type not in ("primary", "secondary"):
        raise UsageError(f"--key-type {key_type}: use primary or secondary")
    ws = _ws()
    compute = of_endpoint(ws, name)
    if is_local(compute):
        from mlk.local import control
        from mlk.workspace import keys

        keys.regenerate(ws, name, key_type)
        control.poke(ws)
    else:
        from mlk.kube import endpoints as kube_endpoints

        kube_endpoints.regenerate(ws, name, compute, key_type)
    console.info(f"regenerated the {key_type} key of '{name}' (mlk online-endpoint get-credentials -n {name})")
