"""`mlk job`: az ml's command jobs — create (optionally --stream), show, list, stream, cancel, download —
on this machine or a cluster (the job's `compute:`, `--local`, or the workspace's default compute).

Sweep, pipeline and other job types are refused when the file is read (mlk runs command jobs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Local, SetValues, command

app = typer.Typer(
    help="Jobs: run a command job (distributed too), follow it, download its outputs.", no_args_is_help=True
)
Required = Annotated[str, typer.Option("--name", "-n", help="The job's name.")]
COLUMNS = ["name", "display_name", "status", "compute", "experiment_name"]


def _ws() -> Any:
    from mlk.workspace.home import open_workspace

    return open_workspace(console.settings.workspace)


@command(app, "create", help="Submit a command job (--stream follows its logs to the end).")
def create(
    file: Annotated[Path, typer.Option("--file", "-f", metavar="FILE", help="Job YAML (az ml format).")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="The job's name (default: generated).")] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Follow the logs until the job ends.")] = False,
    local: Local = False,
    set_values: SetValues = None,
) -> None:
    from mlk.cli.specs_input import load
    from mlk.compute import jobflow

    spec = load(file, "job", set_values=set_values)
    ws = _ws()
    created = jobflow.create(ws, spec, name=name, local=local, say=console.info)
    console.info(f"job {created['name']}: {created['status']} (follow it: mlk job stream -n {created['name']})")
    if stream:
        created = jobflow.stream(ws, created["name"], console.info)
    console.result(created, columns=COLUMNS)


@command(app, "show", help="Show a job: its status, outputs and the latest metrics it logged.")
def show(name: Required) -> None:
    from mlk.compute import jobflow

    console.result(jobflow.show(_ws(), name))


@command(app, "list", help="List the workspace's jobs, newest first.")
def list_jobs(
    max_results: Annotated[int | None, typer.Option("--max-results", "-r", help="At most this many.", min=1)] = None,
) -> None:
    from mlk.compute import jobflow

    rows = jobflow.listing(_ws())
    console.result(rows[:max_results] if max_results else rows, columns=COLUMNS)


@command(app, "stream", help="Follow a job's logs until it ends.")
def stream(name: Required) -> None:
    from mlk.compute import jobflow

    shown = jobflow.stream(_ws(), name, console.print)
    console.info(f"job {name}: {shown['status']}")


@command(app, "cancel", help="Cancel a job: its processes (or pods) are stopped, what exists is uploaded.")
def cancel(name: Required) -> None:
    from mlk.compute import jobflow

    console.result(jobflow.cancel(_ws(), name))


@command(app, "download", help="Download a job's outputs (the default output, --output-name X, or --all).")
def download(
    name: Required,
    output_name: Annotated[str | None, typer.Option("--output-name", help="A named output.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every output.")] = False,
    download_path: Annotated[
        Path, typer.Option("--download-path", "-p", help="Where to (default: the current folder).")
    ] = Path(),
) -> None:
    from mlk.compute import jobflow

    for written in jobflow.download(_ws(), name, output=output_name, every=every, to=download_path):
        console.info(f"downloaded {written}")
