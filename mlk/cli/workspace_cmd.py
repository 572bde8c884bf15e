"""`mlk workspace create|show|list|update`: where assets, endpoints, their storage and images live."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import command

app = typer.Typer(
    help="Workspaces: storage (a local folder or Azure Blob Storage), assets, endpoints.", no_args_is_help=True
)


def _view(ws: Any) -> dict[str, Any]:
    registry = ws.config.get("registry") or {}
    build = ws.config.get("build") or {}
    return {
        "name": ws.name,
        "location": ws.location,
        "path": str(ws.root),
        "storage": ws.storage_config().describe(),
        "default_compute": ws.default_compute,
        "router": f"http://127.0.0.1:{ws.router_port}",
        "local_runtime": ws.config.get("runtime", "process"),
        "registry": registry.get("url"),
        "registry_user": registry.get("username"),
        "ca_certs": build.get("ca_certs", []),
        "system_image": build.get("system_image"),
        "system_base_image": build.get("system_base"),
    }


NameOption = Annotated[str | None, typer.Option("--name", "-n", help="Workspace name, as az ml names it.")]


def _named(positional: str | None, option: str | None) -> str | None:
    """The name given as az ml gives it (-n) or as mlk did (a positional word); both must agree."""
    if positional and option and positional != option:
        from mlk.errors import UsageError

        raise UsageError(f"two names: '{positional}' and -n '{option}'", hint="give one")
    return option or positional


@command(
    app,
    "create",
    help="Create a workspace (its storage is a local folder unless told otherwise); "
    "creating one that exists changes nothing, as in az.",
)
def create(
    positional: Annotated[str | None, typer.Argument(metavar="[NAME]", help="Workspace name (or -n).")] = None,
    name_option: NameOption = None,
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
    location: Annotated[
        str | None, typer.Option("--location", "-l", help="Where it is, as az names a region; mlk records it.")
    ] = None,
    router_port: Annotated[int | None, typer.Option("--router-port", help="Port of the local endpoints.")] = None,
    use: Annotated[bool, typer.Option("--use", help="Make it the current workspace.")] = False,
) -> None:
    from mlk.storage.config import sas_url_warnings
    from mlk.workspace.files import read_json, write_json
    from mlk.workspace.home import create_workspace, home

    name = _named(positional, name_option)
    if name is None:
        from mlk.errors import UsageError

        raise UsageError("which workspace? give its name: mlk workspace create -n NAME")
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
    ws = create_workspace(
        name, storage=storage if storage["type"] != "local" else None, router_port=router_port, location=location
    )
    with ws.store() as store:  # reach the storage now: a wrong key is reported here, not at the first upload
        store.check()
    for warning in sas_url_warnings(ws.storage_config()):  # a SAS URL that pods must not get
        console.warning(warning)
    if use:
        write_json(home() / "config.json", {**read_json(home() / "config.json", {}), "workspace": name})
    console.result(_view(ws))


@command(app, "show", help="Show a workspace (the current one by default).")
def show(
    positional: Annotated[str | None, typer.Argument(metavar="[NAME]", help="Workspace name (or -n).")] = None,
    name_option: NameOption = None,
) -> None:
    from mlk.workspace.home import open_workspace

    console.result(_view(open_workspace(_named(positional, name_option) or console.settings.workspace)))


@command(app, "list", help="List the workspaces.")
def list_() -> None:
    from mlk.workspace.home import current_name, open_workspace, workspaces

    current = current_name(console.settings.workspace)
    console.result(
        [{**_view(open_workspace(n)), "current": n == current} for n in workspaces()],
        default="json",
        columns=["name", "current", "storage", "router"],
    )


@command(app, "update", help="Change a workspace's registry, build CA certificates, local runtime or default compute.")
def update(
    positional: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="Workspace name (default: the current one; or -n).")
    ] = None,
    name_option: NameOption = None,
    registry: Annotated[
        str | None, typer.Option("--registry", help="Image registry for clusters, HOST[:PORT][/PREFIX]; '' removes it.")
    ] = None,
    registry_username: Annotated[str | None, typer.Option("--registry-username", help="Registry user.")] = None,
    registry_password: Annotated[
        str | None, typer.Option("--registry-password", help="Registry password (else docker login's).")
    ] = None,
    ca_cert: Annotated[
        list[Path] | None, typer.Option("--ca-cert", help="Extra CA certificate (PEM) for image builds; repeatable.")
    ] = None,
    no_ca_certs: Annotated[bool, typer.Option("--no-ca-certs", help="Forget the extra CA certificates.")] = False,
    runtime: Annotated[
        str | None, typer.Option("--local-runtime", help="How local deployments run: process or docker.")
    ] = None,
    default_compute: Annotated[
        str | None, typer.Option("--default-compute", help="local or an attached compute.")
    ] = None,
    system_image: Annotated[
        str | None, typer.Option("--system-image", help="mlk's image for the Docker runtime's initializer ('' unsets).")
    ] = None,
    system_base_image: Annotated[
        str | None, typer.Option("--system-base-image", help="Base of mlk's image when mlk builds it.")
    ] = None,
) -> None:
    from mlk.errors import UsageError
    from mlk.workspace.files import locked, read_json, write_json
    from mlk.workspace.home import open_workspace

    ws = open_workspace(_named(positional, name_option) or console.settings.workspace)
    if runtime is not None and runtime not in ("process", "docker"):
        raise UsageError(f"--local-runtime {runtime}: use process or docker")
    for cert in ca_cert or []:
        if not cert.is_file() or b"BEGIN CERTIFICATE" not in cert.read_bytes():
            raise UsageError(f"--ca-cert {cert}: not a PEM certificate file")
    if default_compute is not None:
        from mlk.workspace import computes

        computes.get(ws, default_compute)  # must be attached (or local)
    with locked(ws.lock_file):
        config = read_json(ws.root / "workspace.json", {})
        if registry is not None:
            config.pop("registry", None)
            if registry:
                config["registry"] = {"url": registry.rstrip("/")}
        if registry_username is not None or registry_password is not None:
            if not config.get("registry"):
                raise UsageError("credentials need a registry: give --registry too")
            config["registry"] |= {"username": registry_username, "password": registry_password}
        if no_ca_certs:
            config.setdefault("build", {})["ca_certs"] = []
        if ca_cert:
            known = config.setdefault("build", {}).setdefault("ca_certs", [])
            known += [str(c.resolve()) for c in ca_cert if str(c.resolve()) not in known]
        if runtime is not None:
            config["runtime"] = runtime
        for key, value in (("system_image", system_image), ("system_base", system_base_image)):
            if value is not None:
                config.setdefault("build", {})[key] = value or None
        if default_compute is not None:
            config["default_compute"] = default_compute.removeprefix("azureml:")
        write_json(ws.root / "workspace.json", config)  # may hold a registry password
        ws.config = config
    console.result(_view(ws))
