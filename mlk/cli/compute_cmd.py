"""`mlk compute`: attach a Kubernetes cluster (and namespace) to the workspace, as az ml compute attach does.

Not supported: other compute types (amlcompute, virtualmachine, ...), --identity-type (stored, unused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Name, SetValues, Yes, command

app = typer.Typer(no_args_is_help=True)
File = Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="Compute YAML (az ml format).")]
Required = Annotated[str, typer.Option("--name", "-n", help="Compute name.")]
COLUMNS = ["name", "type", "namespace", "context", "cluster"]


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


@command(app, "attach", help="Attach a Kubernetes cluster + namespace (the mlk extension must be installed).")
def attach(
    file: File = None,
    name: Name = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="Kubernetes (the only type mlk has).")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Namespace for the deployments.")] = None,
    resource_id: Annotated[str | None, typer.Option("--resource-id", help="Azure ARM id (kept for reference).")] = None,
    kube_context: Annotated[str | None, typer.Option("--kube-context", help="kubeconfig context.")] = None,
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="kubeconfig file ($KUBECONFIG).")] = None,
    create_namespace: Annotated[bool, typer.Option("--create-namespace", help="Create the namespace.")] = False,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.errors import UsageError
    from mlk.kube import computes

    if type_ is not None and type_.lower() != "kubernetes":
        raise UsageError(f"--type {type_}: mlk attaches Kubernetes clusters only")
    spec = load(
        file,
        "compute",
        set_values=set_values,
        overrides={"name": name, "type": "kubernetes", "namespace": namespace, "resource_id": resource_id},
    )
    record = computes.attach(
        _ws(),
        spec,
        kubeconfig=str(kubeconfig.resolve()) if kubeconfig else None,
        context=kube_context,
        create_namespace=create_namespace,
        say=console.info,
    )
    console.result(record, columns=COLUMNS)


@command(app, "detach", help="Detach a compute (its endpoints stay in the cluster).")
def detach(name: Required, yes: Yes = False) -> None:
    import sys

    from mlk.workspace import computes

    if not yes and sys.stdin.isatty() and not typer.confirm(f"Detach compute '{name}' from the workspace?"):
        raise typer.Exit(1)
    computes.detach(_ws(), name)
    console.info(f"detached compute '{name}'")


@command(app, "list", help="List the workspace's computes.")
def list_() -> None:
    from mlk.workspace import computes

    rows = [{"name": "local", "type": "local", "namespace": None, "context": None, "cluster": "this machine"}]
    rows += [{**c, "cluster": c.get("server")} for c in computes.attached(_ws()).values()]
    console.result(rows, columns=COLUMNS)


@command(app, "show", help="Show a compute.")
def show(name: Required) -> None:
    from mlk.workspace import computes

    console.result(computes.get(_ws(), name), columns=COLUMNS)
