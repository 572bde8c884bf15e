"""`mlk data`: az ml's data assets (uri_file, uri_folder), content-addressed and versioned like models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import SetValues, command

app = typer.Typer(help="Data assets: uri_file and uri_folder, content-hashed and versioned.", no_args_is_help=True)
Name = Annotated[str | None, typer.Option("--name", "-n", help="Asset name.")]


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "version": row["version"],
        "id": f"azureml:{row['name']}:{row['version']}",
        "type": row.get("type", "uri_folder"),
        "path": row.get("source") or row.get("path"),
        "description": row.get("description"),
        "size": row.get("size"),
        "digest": row["digest"],
    }


@command(app, "create", help="Register a data asset: a local file or folder, an https URL, or a job's output.")
def create(
    file: Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="Data YAML.")] = None,
    name: Name = None,
    version: Annotated[str | None, typer.Option("--version", "-v", help="Version (default: the next).")] = None,
    path: Annotated[str | None, typer.Option("--path", "-p", help="File, folder, URL or job output.")] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="uri_file or uri_folder.")] = None,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.storage.progress import progress_bar
    from mlk.workspace import assets
    from mlk.workspace.jobinputs import local_copy

    local_path = str(Path(path).resolve()) if path and "://" not in path else path
    spec = load(
        file,
        "data",
        set_values=set_values,
        overrides={"name": name, "version": version, "path": local_path, "type": type_},
    )
    ws = _ws()
    source = local_copy(ws, str(spec["path"]), console.info)
    extra = {"type": spec.get("type", "uri_folder"), "description": spec.get("description"), "source": spec["path"]}
    version_text = str(spec["version"]) if spec.get("version") else None
    registered = assets.register_tree(ws, "data", spec["name"], version_text, source, extra, progress_bar)
    console.info(
        f"{registered.reference}: {'unchanged; ' if registered.reused else ''}{registered.bytes_sent:,} bytes uploaded"
    )
    console.result(
        _row(
            {
                "name": registered.name,
                "version": registered.version,
                "digest": registered.digest,
                **(registered.record or {}),
            }
        )
    )


@command(app, "list", help="List data assets (all versions of one with -n).")
def list_data(name: Name = None) -> None:
    from mlk.workspace import assets

    # a job's local inputs are registered as anonymous data; az ml's list leaves anonymous assets out too
    rows = [r for r in assets.listing(_ws(), "data", name) if r["name"] != assets.ANONYMOUS]
    console.result([_row(r) for r in rows])


@command(app, "show", help="Show a data asset version (-v N, or -l latest: the default).")
def show(
    name: Annotated[str, typer.Option("--name", "-n")],
    version: Annotated[str | None, typer.Option("--version", "-v")] = None,
    label: Annotated[str | None, typer.Option("--label", "-l")] = None,
) -> None:
    from mlk.workspace import assets

    found = assets.resolve(_ws(), "data", assets.named("data", name, version, label))
    console.result(_row({"name": found.name, "version": found.version, "digest": found.digest, **(found.record or {})}))
