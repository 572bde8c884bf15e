"""`mlk model` and `mlk environment`: versioned assets, as az ml has them.

Not supported yet: `--datastore`, registries (azureml://registries/...), labels other
than `latest`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli import asset_stages
from mlk.cli.asset_stages import ArchivedOnly, IncludeArchived
from mlk.cli.console import console
from mlk.cli.options import SetValues, command

models = typer.Typer(help="Models: files or folders, content-hashed and versioned.", no_args_is_help=True)
environments = typer.Typer(
    help="Environments: an image plus a conda file, or a Docker build context.", no_args_is_help=True
)
File = Annotated[Path | None, typer.Option("--file", "-f", metavar="FILE", help="YAML file (az ml format).")]
AssetName = Annotated[str | None, typer.Option("--name", "-n", help="Asset name.")]
Version = Annotated[str | None, typer.Option("--version", "-v", help="Version (default: the next one, or latest).")]
ShowVersion = Annotated[str | None, typer.Option("--version", "-v", help="Version (not with --label).")]
Label = Annotated[
    str | None, typer.Option("--label", "-l", help="Label: latest (the default), as az ml has it; not with --version.")
]


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


def _row(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    from mlk.workspace.assets import stage

    out = {
        "name": row["name"],
        "version": row["version"],
        "id": f"azureml:{row['name']}:{row['version']}",
        "stage": stage(row),
    }
    if kind == "models":
        out |= {"path": row.get("path"), "type": row.get("type"), "size": row.get("size"), "digest": row["digest"]}
    else:
        definition = row.get("definition", {})
        out |= {
            "image": definition.get("image"),
            "conda_file": bool(definition.get("conda_file")),
            "build": definition.get("build"),
            "identity": row["digest"],
        }
    return out


def _model_path(path: str | None) -> str | None:
    """A local path made absolute; a job's output (azureml://jobs/<job>/outputs/...) as given."""
    if path is None or path.startswith("azureml://"):
        return path
    return str(Path(path).resolve())


@command(models, "create", help="Register a model (re-registering unchanged content uploads nothing).")
def create_model(
    file: File = None,
    name: AssetName = None,
    version: Version = None,
    path: Annotated[
        str | None, typer.Option("--path", "-p", help="File or folder, or a job's output (azureml://jobs/...).")
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="custom_model, mlflow_model, ...")] = None,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.workspace import assets

    spec = load(
        file,
        "model",
        set_values=set_values,
        overrides={"name": name, "version": version, "path": _model_path(path), "type": type_},
    )
    ws = _ws()
    source = Path(spec["path"])
    if spec["path"].startswith("azureml://jobs/"):
        from mlk.workspace.jobinputs import job_path

        source = job_path(ws, spec["path"])
    from mlk.storage.progress import progress_bar

    version_text = str(spec["version"]) if spec.get("version") else None
    extra = {"type": spec.get("type", "custom_model"), "description": spec.get("description")}
    if source != Path(spec["path"]):
        extra["source"] = spec["path"]
    registered = assets.register_tree(ws, "models", spec["name"], version_text, source, extra, progress_bar)
    console.info(
        f"{registered.reference}: {'unchanged; ' if registered.reused else ''}{registered.bytes_sent:,} bytes uploaded"
    )
    console.result(
        _row(
            "models",
            {
                "name": registered.name,
                "version": registered.version,
                "digest": registered.digest,
                **(registered.record or {}),
            },
        )
    )


@command(models, "list", help="List models (all versions of one with -n).")
def list_models(
    name: AssetName = None, include_archived: IncludeArchived = False, archived_only: ArchivedOnly = False
) -> None:
    from mlk.workspace import assets

    rows = assets.listing(_ws(), "models", name, asset_stages.archived_filter(include_archived, archived_only))
    console.result([_row("models", r) for r in rows], columns=["name", "version", "type", "size"])


@command(models, "show", help="Show a model version (-v N, or -l latest: the default).")
def show_model(
    name: Annotated[str, typer.Option("--name", "-n")], version: ShowVersion = None, label: Label = None
) -> None:
    from mlk.workspace import assets

    found = assets.resolve(_ws(), "models", assets.named("models", name, version, label))
    console.result(
        _row("models", {"name": found.name, "version": found.version, "digest": found.digest, **(found.record or {})})
    )


@command(environments, "create", help="Register an environment (its identity ignores name and version).")
def create_environment(
    file: File = None,
    name: AssetName = None,
    version: Version = None,
    image: Annotated[str | None, typer.Option("--image", "-i")] = None,
    conda_file: Annotated[Path | None, typer.Option("--conda-file")] = None,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.envs.identity import identity_of_spec
    from mlk.workspace import assets

    spec = load(
        file,
        "environment",
        set_values=set_values,
        overrides={
            "name": name,
            "version": version,
            "image": image,
            "conda_file": str(conda_file.resolve()) if conda_file else None,
        },
    )
    registered = assets.register_environment(
        _ws(), spec["name"], str(spec["version"]) if spec.get("version") else None, identity_of_spec(spec), spec
    )
    console.result(
        _row(
            "environments",
            {
                "name": registered.name,
                "version": registered.version,
                "digest": registered.digest,
                **(registered.record or {}),
            },
        )
    )


@command(environments, "list", help="List environments.")
def list_environments(
    name: AssetName = None, include_archived: IncludeArchived = False, archived_only: ArchivedOnly = False
) -> None:
    from mlk.workspace import assets

    rows = assets.listing(_ws(), "environments", name, asset_stages.archived_filter(include_archived, archived_only))
    console.result([_row("environments", r) for r in rows], columns=["name", "version", "image", "identity"])


@command(environments, "show", help="Show an environment version (-v N, or -l latest: the default).")
def show_environment(
    name: Annotated[str, typer.Option("--name", "-n")], version: ShowVersion = None, label: Label = None
) -> None:
    from mlk.workspace import assets

    found = assets.resolve(_ws(), "environments", assets.named("environments", name, version, label))
    row = _row(
        "environments", {"name": found.name, "version": found.version, "digest": found.digest, **(found.record or {})}
    )
    from mlk.workspace import builds

    row["images"] = builds.images_of(_ws(), found.digest)
    console.result(row)


@command(environments, "build", help="Build the environment's image (reused when unchanged); --push for clusters.")
def build_environment(
    name: AssetName = None,
    version: Version = None,
    file: File = None,
    builder: Annotated[str | None, typer.Option("--builder", help="auto, fast (uv), pip or conda.")] = None,
    pull: Annotated[str | None, typer.Option("--pull", help="Base image: missing (default), always or never.")] = None,
    push: Annotated[bool, typer.Option("--push", help="Push to the workspace's registry.")] = False,
    ca_cert: Annotated[
        list[Path] | None,
        typer.Option(
            "--ca-cert",
            metavar="FILE",
            help="Extra CA certificate (PEM) for this build, in place of the workspace's; repeatable.",
        ),
    ] = None,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.builds_view import build_live

    definition = _definition(name, version, file, set_values)
    certs = [str(c.expanduser().resolve()) for c in ca_cert] if ca_cert else None
    console.result(build_live(_ws(), definition, builder=builder, pull=pull, push=push, ca_certs=certs))


def _definition(
    name: str | None, version: str | None, file: Path | None, set_values: list[str] | None
) -> dict[str, Any]:
    from mlk.errors import UsageError

    if file is not None:
        from mlk.cli.specs_input import load

        return dict(load(file, "environment", set_values=set_values, overrides={"name": name, "version": version}))
    if not name:
        raise UsageError("which environment? give -n NAME [-v VERSION] or -f FILE")
    from mlk.workspace import assets

    found = assets.resolve(_ws(), "environments", assets.named("environments", name, version))
    return dict((found.record or {})["definition"])


asset_stages.register(models, "models")
asset_stages.register(environments, "environments")
