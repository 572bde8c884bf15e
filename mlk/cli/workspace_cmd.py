"""`mlk workspace create|show|list`: where assets, endpoints and their storage live."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import command

app = typer.Typer(
    help="Workspaces: storage (a local folder or Azure Blob Storage), assets, endpoints.", no_args_is_help=True
)


def _view(ws: Any) -> dict[str, Any]:
    return {
        "name": ws.name,
        "location": str(ws.root),
        "storage": ws.storage_config().describe(),
        "default_compute": ws.default_compute,
        "router": f"http://127.0.0.1:{ws.router_port}",
    }


@command(app, "create", help="Create a workspace (its storage is a local folder unless told otherwise).")
def create(
    name: Annotated[str, typer.Argument(help="Workspace name.")],
    connection_string: Annotated[
        str | None,
        typer.Option("--storage-connection-string", help="Azure Blob Storage (or Azurite) connection string."),
    ] = None,
    account_url: Annotated[
        str | None, typer.Option("--storage-account-url", help="https://ACCOUNT.blob.core.windows.net")
    ] = None,
    account_key: Annotated[
        str | None, typer.Option("--storage-account-key", help="The account key (with the URL).")
    ] = None,
    sas_url: Annotated[str | None, typer.Option("--storage-sas-url", help="A container SAS URL.")] = None,
    container: Annotated[str, typer.Option("--container", help="Blob container.")] = "mlk",
    router_port: Annotated[int | None, typer.Option("--router-port", help="Port of the local endpoints.")] = None,
    use: Annotated[bool, typer.Option("--use", help="Make it the current workspace.")] = False,
) -> None:
    from mlk.workspace.files import read_json, write_json
    from mlk.workspace.home import create_workspace, home

    storage: dict[str, Any] = {"type": "local"}
    if connection_string or account_url or sas_url:
        storage = {
            "type": "blob",
            "connection_string": connection_string,
            "account_url": account_url,
            "account_key": account_key,
            "sas_url": sas_url,
            "container": container,
        }
        storage = {k: v for k, v in storage.items() if v is not None}
    ws = create_workspace(name, storage=storage, router_port=router_port, exist_ok=False)
    with ws.store() as store:  # reach the storage now: a wrong key is reported here, not at the first upload
        store.check()
    if use:
        write_json(home() / "config.json", {**read_json(home() / "config.json", {}), "workspace": name})
    console.result(_view(ws))


@command(app, "show", help="Show a workspace (the current one by default).")
def show(name: Annotated[str | None, typer.Argument(help="Workspace name.")] = None) -> None:
    from mlk.workspace.home import open_workspace

    console.result(_view(open_workspace(name or console.settings.workspace)))


@command(app, "list", help="List the workspaces.")
def list_() -> None:
    from mlk.workspace.home import current_name, open_workspace, workspaces

    current = current_name(console.settings.workspace)
    console.result(
        [{**_view(open_workspace(n)), "current": n == current} for n in workspaces()],
        default="json",
        columns=["name", "current", "storage", "router"],
    )
