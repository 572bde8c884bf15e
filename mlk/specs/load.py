"""The spec pipeline: read → parse with positions → --set → recognise → schema → rules → defaults → resolve.

`load_spec` returns a frozen `Spec` or raises `SpecError` carrying every problem found, located.
Nothing downstream validates again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mlk.errors import SpecError
from mlk.specs import kinds, overrides, paths
from mlk.specs.checks import GPU, semantic_problems
from mlk.specs.defaults import apply_defaults
from mlk.specs.problems import Problem, Severity
from mlk.specs.schemas import load_schema
from mlk.specs.validate import schema_problems
from mlk.specs.yamlpos import Document, parse_text


@dataclass(frozen=True)
class Spec:
    """A validated file with Azure's defaults applied and local paths made absolute."""

    kind: kinds.Kind
    file: str
    """The file as the user named it."""
    data: MappingProxyType[str, Any]
    """The resolved spec (read-only view; `dict(spec.data)` for a copy)."""
    managed: bool = False
    """The file was written for a managed online endpoint/deployment."""
    warnings: tuple[Problem, ...] = ()

    @property
    def name(self) -> str:
        if self.kind is kinds.INSTANCE_TYPE:
            return str(self.data["metadata"]["name"])
        return str(self.data.get("name", ""))


def read_document(file: str | Path) -> Document:
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{file}: no such file", hint="check the path given to -f/--file") from None
    except IsADirectoryError:
        raise SpecError(f"{file}: is a folder, not a YAML file", hint="give the .yml file inside it") from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})", hint="save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise SpecError(f"{file}: cannot read: {exc.strerror}") from None
    return parse_text(text, str(file))


def _recognise(doc: Document, kind: kinds.Kind | None) -> tuple[kinds.Kind, bool]:
    found = kinds.detect(doc.data)
    if found.unsupported:  # a sweep or pipeline job: refused whatever --kind says, on the line that tells
        raise SpecError(
            f"{doc.file}: {found.unsupported}",
            [doc.problem((found.field,), found.unsupported)],
            hint="write the step as a command job: `type: command` with `command` and `environment`",
        )
    if kind is not None:
        if found.kind is not None and found.kind is not kind and "$schema" in found.reason:
            raise SpecError(
                f"{doc.file}: is a {found.kind.name} file ({found.reason}), not {kind.name}",
                [doc.problem(("$schema",), f"this $schema is for {found.kind.name}; expected {kind.name}")],
                hint=f"pass a {kind.name} file, or drop --kind",
            )
        return kind, found.managed and found.kind is kind
    if found.kind is None:
        raise SpecError(
            f"{doc.file}: cannot tell what kind of file this is ({found.reason})",
            [doc.problem((), f"cannot tell the kind of file: {found.reason}")],
            hint="add Azure's `$schema:` line or pass --kind (" + ", ".join(kinds.KINDS) + ")",
        )
    return found.kind, found.managed


def _resolve(kind: kinds.Kind, data: dict[str, Any], base: Path) -> None:
    """Turn the accepted spellings into the one form the rest of mlk reads."""
    for field in (*kinds.READ_ONLY, *kinds.MANAGED_ONLY, "$schema"):
        if field == "id" and kind is kinds.INSTANCE_TYPE:
            continue
        data.pop(field, None)
    if kind is kinds.ENDPOINT:
        data.pop("kind", None)
        if isinstance(data.get("compute"), str):
            data["compute"] = data["compute"].removeprefix("azureml:")
    if kind is kinds.DEPLOYMENT:
        data["type"] = "kubernetes"
        for part in (data.get("resources") or {}).values():
            if isinstance(part, dict) and "gpu" in part:
                part[GPU] = part.pop("gpu")
    if kind is kinds.EXTENSION_CONFIG and "inferenceLoadBalancerHA" in data:
        data.setdefault("inferenceRouterHA", data.pop("inferenceLoadBalancerHA"))
    paths.resolve(kind, data, base)


def load_document(
    doc: Document, base: Path, *, kind: kinds.Kind | None = None, set_values: tuple[str, ...] = (), scripts: bool = True
) -> Spec:
    """Validate and resolve an already-parsed document; `base` is the folder relative paths start from."""
    if set_values:
        if not isinstance(doc.data, dict):
            raise SpecError(f"{doc.file}: --set needs a mapping at the top of the file")
        doc.overridden |= overrides.apply(doc.data, set_values)
    found_kind, managed = _recognise(doc, kind)
    problems = list(doc.problems)
    schema = load_schema(found_kind.schema_file)
    schema_errors = schema_problems(doc, found_kind.schema_file)
    problems += schema_errors
    if not schema_errors:
        problems += semantic_problems(doc, found_kind, base, managed=managed, scripts=scripts)
    else:  # the rules assume schema-valid data; missing files are worth reporting regardless
        problems += [
            doc.problem(p.path, reason)
            for p in paths.local_paths(found_kind, doc.data, base)
            if (reason := paths.missing_reason(p))
        ]
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        count = f"{len(errors)} problem{'s' if len(errors) > 1 else ''}"
        raise SpecError(
            f"{doc.file}: {count} in this {found_kind.name} file",
            sorted(problems),
            hint="fix the lines above"
            + ("" if doc.file.startswith("<") else f"; `mlk validate -f {doc.file}` checks again"),
        )
    data: dict[str, Any] = doc.data
    _resolve(found_kind, data, base)  # first: an old setting name must win over the new name's default
    apply_defaults(data, schema)
    return Spec(
        found_kind,
        doc.file,
        MappingProxyType(data),
        managed,
        tuple(sorted(p for p in problems if p.severity is Severity.WARNING)),
    )


def load_spec(
    file: str | Path, *, kind: kinds.Kind | str | None = None, set_values: tuple[str, ...] = (), scripts: bool = True
) -> Spec:
    """Load one file into a resolved Spec, or raise SpecError with every problem in it."""
    wanted = kinds.kind_named(kind) if isinstance(kind, str) else kind
    doc = read_document(file)
    return load_document(doc, Path(file).resolve().parent, kind=wanted, set_values=set_values, scripts=scripts)
