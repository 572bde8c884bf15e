"""`mlk online-endpoint`: az ml's endpoint commands, on the embedded default (Kubernetes: the next issue).

Not supported yet: --no-wait on update, --add/--remove, `create --local` against a cluster.
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


def _compute(spec: dict[str, Any], local: bool, ws: Any) -> str:
    from mlk.errors import UsageError

    if local:
        return "local"
    compute = spec.get("compute") or ws.default_compute
    if compute != "local":
        raise UsageError(
            f"compute '{compute}' is not attached to workspace '{ws.name}'",
            hint="attach the cluster with `mlk compute attach` (Kubernetes), or pass --local to run on this machine",
        )
    return "local"


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
    from mlk.local import endpoints

    spec = load(file, "online-endpoint", set_values=set_values, overrides={"name": name, "auth_mode": auth_mode})
    ws = _ws()
    console.result(endpoints.create(ws, spec, _compute(spec, local, ws)), columns=COLUMNS)


@command(app, "update", help='Update traffic (--traffic "blue=90 green=10"), mirror traffic, description, tags.')
def update(
    name: Name = None,
    file: File = None,
    traffic: Annotated[str | None, typer.Option("--traffic", help='e.g. "blue=90 green=10"')] = None,
    mirror_traffic: Annotated[str | None, typer.Option("--mirror-traffic", help='e.g. "green=10"')] = None,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.errors import UsageError
    from mlk.local import endpoints

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
    console.result(
        endpoints.update(
            _ws(),
            target,
            spec=spec,
            traffic=parse_traffic(traffic) if traffic is not None else None,
            mirror=parse_traffic(mirror_traffic, "--mirror-traffic") if mirror_traffic is not None else None,
        )
    )


@command(app, "show", help="Show an endpoint (scoring_uri, traffic, provisioning_state).")
def show(name: Required) -> None:
    from mlk.local import endpoints
    from mlk.workspace import state

    ws = _ws()
    console.result(endpoints.view(ws, name, state.endpoint(state.load(ws), name)), columns=COLUMNS)


@command(app, "list", help="List the endpoints of the workspace.")
def list_() -> None:
    from mlk.local import endpoints
    from mlk.workspace import state

    ws = _ws()
    rows = [endpoints.view(ws, n, r) for n, r in sorted(state.load(ws)["endpoints"].items()) if not r.get("deleting")]
    console.result(rows, columns=COLUMNS)


@command(app, "delete", help="Delete an endpoint and its deployments.")
def delete(name: Required, yes: Yes = False, no_wait: NoWait = False) -> None:
    from mlk.local import endpoints

    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete endpoint '{name}' and all its deployments?"):
        raise typer.Exit(1)
    endpoints.delete(_ws(), name)
    console.info(f"deleted online endpoint '{name}'")


@command(app, "invoke", help="Score: send a request file to the endpoint (or one deployment with -d).")
def invoke(
    name: Required,
    request_file: Annotated[Path, typer.Option("--request-file", "-r", help="JSON body to send.")],
    deployment_name: Annotated[
        str | None, typer.Option("--deployment-name", "-d", help="Send to this deployment, whatever the traffic.")
    ] = None,
) -> None:
    from mlk.errors import UsageError
    from mlk.local import endpoints

    try:
        body = request_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {request_file}: {exc.strerror}") from None
    console.result(endpoints.invoke(_ws(), name, body, deployment_name))


@command(app, "get-credentials", help="The endpoint's keys (key auth) or a fresh token (aml_token auth).")
def get_credentials(name: Required) -> None:
    from mlk.workspace import keys, state

    ws = _ws()
    record = state.endpoint(state.load(ws), name)
    console.result(keys.credentials(ws, name, record["spec"].get("auth_mode", "key")))


@command(app, "regenerate-keys", help="Replace the primary or secondary key (effective at once, no restart).")
def regenerate_keys(
    name: Required, key_type: Annotated[str, typer.Option("--key-type", help="primary or secondary.")] = "primary"
) -> None:
    from mlk.errors import UsageError
    from mlk.local import control
    from mlk.workspace import keys, state

    if key_type not in ("primary", "secondary"):
        raise UsageError(f"--key-type {key_type}: use primary or secondary")
    ws = _ws()
    state.endpoint(state.load(ws), name)
    keys.regenerate(ws, name, key_type)
    control.poke(ws)
    console.info(f"regenerated the {key_type} key of '{name}' (mlk online-endpoint get-credentials -n {name})")
