"""Reading the spec a command works on: `-f FILE` plus `--set`, or just flags (`-n NAME`), validated alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlk.errors import UsageError


def load(
    file: Path | None,
    kind: str,
    *,
    set_values: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    skip_script_validation: bool = False,
) -> dict[str, Any]:
    """The resolved spec (a plain dict). Flags like -n/-e become `--set`s, so every value is validated."""
    from mlk.specs import load_document, load_spec
    from mlk.specs.yamlpos import parse_text

    sets = [f"{k}={json.dumps(v)}" for k, v in (overrides or {}).items() if v is not None] + list(set_values or [])
    if file is not None:
        spec = load_spec(file, kind=kind, set_values=tuple(sets), scripts=not skip_script_validation)
    else:
        if not overrides or not any(v is not None for v in overrides.values()):
            raise UsageError("give the YAML file with -f, or the name with -n")
        doc = parse_text("{}", "<flags>")
        spec = load_document(
            doc, Path.cwd(), kind=_kind(kind), set_values=tuple(sets), scripts=not skip_script_validation
        )
    from mlk.cli.console import console

    for warning in spec.warnings:
        console.problem(warning.render(), warning=True)
    resolved: dict[str, Any] = _plain(spec.data)
    return resolved


def _kind(name: str) -> Any:
    from mlk.specs.kinds import kind_named

    return kind_named(name)


def _plain(data: Any) -> Any:
    if hasattr(data, "items"):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


def stored_with(stored: Any, set_values: list[str], kind: str) -> dict[str, Any]:
    """A stored (already resolved) spec changed by --set, validated again like a file would be."""
    import copy

    import yaml

    from mlk.specs import load_document
    from mlk.specs.overrides import apply
    from mlk.specs.yamlpos import parse_text

    spec = copy.deepcopy(_plain(stored))
    apply(spec, set_values)
    doc = parse_text(yaml.safe_dump(spec), f"<stored {kind}>")
    resolved: dict[str, Any] = _plain(load_document(doc, Path.cwd(), kind=_kind(kind)).data)
    return resolved
