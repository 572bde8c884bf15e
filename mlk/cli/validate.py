"""`mlk validate`: check az ml YAML files locally and show them resolved (defaults applied)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Files, SetValues, command


def register(app: typer.Typer) -> None:
    command(app, "validate", help="Check YAML files against mlk's schemas and rules; print them resolved.")(validate)


def validate(
    positional: Annotated[
        list[Path] | None, typer.Argument(metavar="[FILE]...", help="More files (same as -f).", show_default=False)
    ] = None,
    files: Files = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            "-k",
            help="The kind of every file, when it cannot be told "
            "from $schema/type/fields: online-endpoint, online-deployment, "
            "compute, environment, model, instance-type, extension-config.",
        ),
    ] = None,
    set_values: SetValues = None,
    skip_script_validation: Annotated[
        bool, typer.Option("--skip-script-validation", help="Do not compile the scoring script.")
    ] = False,
) -> None:
    """Exit 0 only when every file is valid; every problem is printed as FILE:LINE:COL: $.path: message."""
    from mlk.errors import SpecError, UsageError
    from mlk.specs import load_spec
    from mlk.specs.kinds import kind_named

    wanted = kind_named(kind) if kind else None
    files = [*(files or []), *(positional or [])]
    if not files:
        raise UsageError("no file to validate", hint="mlk validate -f endpoint.yml [-f blue.yml ...]")
    resolved: list[Any] = []
    failed: list[str] = []
    summaries: list[str] = []
    found: list[dict[str, Any]] = []  # every problem, as data for -o json|yaml|...
    for file in files:
        try:
            spec = load_spec(file, kind=wanted, set_values=tuple(set_values or ()), scripts=not skip_script_validation)
        except SpecError as exc:
            failed.append(str(file))
            for problem in exc.problems:
                console.problem(problem.render(), warning=problem.severity.value == "warning")
                found.append(problem.as_data())
            if not exc.problems:
                console.error(exc.message)
                found.append({"file": str(file), "message": exc.message, "severity": "error"})
            continue
        for warning in spec.warnings:
            console.problem(warning.render(), warning=True)
            found.append(warning.as_data())
        resolved.append(dict(spec.data))
        named = f" '{spec.name}'" if spec.name else ""
        summaries.append(f"{file}: valid {spec.kind.name}{named}")
    if failed:
        if console.settings.output not in (None, "none"):  # scripts asked for data: the problems are the result
            console.result({"valid": False, "problems": found})
        raise SpecError(
            f"{len(failed)} of {len(files)} file{'s' if len(files) > 1 else ''} "
            f"{'is' if len(failed) == 1 else 'are'} not valid: {', '.join(failed)}",
            hint="fix the lines above and run mlk validate again",
        )
    console.result(
        resolved[0] if len(resolved) == 1 else resolved,
        human=lambda: console.print("\n".join(summaries)),
    )
