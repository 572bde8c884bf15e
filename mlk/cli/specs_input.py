"""Reading the spec a command works on: `-f FILE` plus `--set`, or just flags (`-n NAME`), validated alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class GenericUpdate:
    """az's generic update arguments: `--set PATH=VALUE`, `--add PATH VALUE...`, `--remove PATH [INDEX]`
    (each `--add`/`--remove` a list of its words) and `--force-string`."""

    set_values: tuple[str, ...] = ()
    add: tuple[tuple[str, ...], ...] = ()
    remove: tuple[tuple[str, ...], ...] = ()
    force_string: bool = False

    @classmethod
    def given(
        cls, set_values: list[str] | None, add: list[str] | None, remove: list[str] | None, force_string: bool
    ) -> GenericUpdate:
        return cls(tuple(set_values or ()), _words(add, "--add"), _words(remove, "--remove"), force_string)

    def __bool__(self) -> bool:
        return bool(self.set_values or self.add or self.remove)

    def apply(self, spec: dict[str, Any]) -> None:
        from mlk.specs.overrides import add, apply, remove

        apply(spec, self.set_values, force_string=self.force_string)
        for path, *values in self.add:
            add(spec, path, values, force_string=self.force_string)
        for words in self.remove:
            if len(words) > 2:
                raise UsageError(f"--remove {' '.join(words)}: give a path and at most one index")
            remove(spec, words[0], words[1] if len(words) == 2 else None)


def _words(given: list[str] | None, flag: str) -> tuple[tuple[str, ...], ...]:
    """Each occurrence of the flag, as the words that followed it (mlk.cli.app packs them as a JSON list)."""
    out = []
    for value in given or []:
        try:
            words = json.loads(value)
        except ValueError:
            words = [value]
        if isinstance(words, list) and not words:
            raise UsageError(f"{flag}: give a path", hint=f"e.g. {flag} tags ...")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            words = [value]
        out.append(tuple(words))
    if any(not w[0] for w in out):
        raise UsageError(f"{flag}: give a path", hint=f"e.g. {flag} tags ...")
    return tuple(out)


def stored_with(stored: Any, edits: GenericUpdate | list[str], kind: str) -> dict[str, Any]:
    """A stored (already resolved) spec changed by --set/--add/--remove, validated again like a file."""
    import copy

    import yaml

    from mlk.specs import load_document
    from mlk.specs.yamlpos import parse_text

    if not isinstance(edits, GenericUpdate):
        edits = GenericUpdate(tuple(edits))
    spec = copy.deepcopy(_plain(stored))
    edits.apply(spec)
    doc = parse_text(yaml.safe_dump(spec), f"<stored {kind}>")
    resolved: dict[str, Any] = _plain(load_document(doc, Path.cwd(), kind=_kind(kind)).data)
    return resolved
