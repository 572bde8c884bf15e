"""JSON Schema validation that reports every problem, located, in words a user can act on.

Two passes: first the lenient spellings Azure accepts are normalised in place (enum values in any case or
camelCase, numbers and booleans written as strings, numbers where text is wanted), then every remaining
error becomes a Problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from mlk.specs.problems import JsonPath, Problem
from mlk.specs.schemas import validator
from mlk.specs.yamlpos import Document

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing (null)",
}


# Unknown fields that are really something else, put in the wrong file.
_MISPLACED = {
    "dependencies": "; conda packages belong in the conda file that `conda_file` names",
    "channels": "; conda channels belong in the conda file that `conda_file` names",
    # Azure ML's preview (pre-GA) syntax, still common in blog posts and old samples
    "local_path": "; preview syntax: write `path:` instead",
    "docker": "; preview syntax: write the image as `image:` beside `conda_file:`",
    "target": "; preview syntax: name the compute as `compute: azureml:<name>`",
    "model_format": "; for an MLflow model write `type: mlflow_model`",
    "deployments": "; each deployment goes in a file of its own (mlk online-deployment create -f FILE)",
}


def _custom(schema: dict[str, Any], instance: Any) -> str | None:
    """The schema's own wording for this failure (`errorMessage`, `{}` standing for the value)."""
    text = schema.get("errorMessage")
    return text.replace("{}", repr(instance)) if isinstance(text, str) else None


def _enum_key(value: str) -> str:
    """Azure compares enum values ignoring case and `_`/`-`: Key, AMLToken, TargetUtilization, loadBalancer."""
    return re.sub(r"[-_\s]", "", value).lower()


def _type_name(value: Any) -> str:
    for json_type, python in (
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("string", str),
        ("object", dict),
        ("array", list),
    ):
        if isinstance(value, python):
            return _TYPE_WORDS[json_type]
    return _TYPE_WORDS["null"]


def _all_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    for err in errors:
        yield err
        yield from _all_errors(err.context or ())


def _coerced(err: ValidationError) -> tuple[bool, Any]:
    """A lenient spelling of what the schema wants, converted; (False, None) if there is none."""
    value, allowed = err.instance, cast(Any, err.validator_value)
    if err.validator == "type" and isinstance(value, int | float) and not isinstance(value, bool):
        wanted = allowed if isinstance(allowed, list) else [allowed]
        # `version: 1.5` is a string to Azure ('1.5'); other unquoted numbers where text is wanted likewise
        return ("string" in wanted, str(value)) if "string" in wanted else (False, None)
    if not isinstance(value, str):
        return False, None
    if err.validator == "enum":
        matches = [v for v in allowed if isinstance(v, str) and _enum_key(v) == _enum_key(value)]
        return (True, matches[0]) if matches else (False, None)
    if err.validator == "type":
        wanted = allowed if isinstance(allowed, list) else [allowed]
        text = value.strip()
        if "boolean" in wanted and text.lower() in ("true", "false"):
            return True, text.lower() == "true"
        if "integer" in wanted and re.fullmatch(r"[+-]?\d+", text):
            return True, int(text)
        if "number" in wanted and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            return True, float(text)
    return False, None


def _set(data: Any, path: Iterable[Any], value: Any) -> None:
    *parents, last = list(path)
    for part in parents:
        data = data[part]
    data[last] = value


def normalise(data: Any, schema_file: str) -> None:
    """Rewrite lenient spellings in place until the schema has nothing more to convert."""
    check = validator(schema_file)
    for _ in range(8):
        fixes = 0
        for err in _all_errors(check.iter_errors(data)):
            ok, value = _coerced(err)
            if ok and err.absolute_path:
                _set(data, err.absolute_path, value)
                fixes += 1
        if not fixes:
            return


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    options = list(candidates)
    lowered = {c.lower(): c for c in options}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{lowered[close[0]]}'?"
    if 0 < len(options) <= 8:
        return "; expected one of: " + ", ".join(sorted(options))
    return ""


def _branch_errors(err: ValidationError) -> list[ValidationError]:
    """For anyOf/oneOf, the errors of the branch meant for this value (same JSON type), else []."""
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in err.context or ():
        by_branch.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)  # type: ignore[arg-type]
    plausible = [
        subs for subs in by_branch.values() if not any(s.validator == "type" and not s.relative_path for s in subs)
    ]
    if len(plausible) == 1:
        return plausible[0]
    return []


class _Reporter:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def add(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def error(self, err: ValidationError) -> None:
        path: JsonPath = tuple(err.absolute_path)
        schema = err.schema if isinstance(err.schema, dict) else {}
        kind, value, instance = err.validator, cast(Any, err.validator_value), err.instance
        if kind in ("anyOf", "oneOf"):
            branch = _branch_errors(err)
            if branch:
                for sub in branch:
                    self.error(sub)
                return
            wanted = sorted({_TYPE_WORDS.get(str(b.get("type")), "a value") for b in value if isinstance(b, dict)})
            self.add(path, f"expected {' or '.join(wanted)}, got {_type_name(instance)}")
            return
        if kind == "additionalProperties" and isinstance(instance, dict):
            allowed = list(schema.get("properties", {}))
            patterns = list(schema.get("patternProperties", {}))
            extras = [k for k in instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
            for extra in extras:
                hint = _MISPLACED.get(extra) or _did_you_mean(extra, allowed)
                self.add((*path, extra), f"unknown field '{extra}'{hint}", key=True)
            return
        if kind == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            self.add(path, f"missing required field '{missing}'")
            return
        if "propertyNames" in err.relative_schema_path:  # the key itself is wrong, not its value
            self.add((*path, str(instance)), _custom(schema, instance) or f"{instance!r}: {err.message}", key=True)
            return
        if kind in ("pattern", "minLength", "maxLength", "maxProperties", "type") and _custom(schema, instance):
            self.add(path, _custom(schema, instance) or "")
            return
        if kind == "enum":
            self.add(path, f"{instance!r} is not allowed{_did_you_mean(str(instance), map(str, value))}")
            return
        if kind == "const":
            self.add(path, f"must be {value!r}, not {instance!r}")
            return
        if kind == "type":
            wanted = value if isinstance(value, list) else [value]
            words = " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
            hint = ""
            if isinstance(instance, dict) and "local_path" in instance:
                field = path[-1] if path else "value"
                hint = f"; preview syntax: write the path itself ({field}: {instance['local_path']})"
            self.add(path, f"expected {words}, got {_type_name(instance)} ({instance!r}){hint}")
            return
        self.add(path, err.message)


def schema_problems(doc: Document, schema_file: str) -> list[Problem]:
    """Every way `doc.data` breaks its schema, after lenient spellings were normalised."""
    normalise(doc.data, schema_file)
    reporter = _Reporter(doc)
    for err in sorted(validator(schema_file).iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        reporter.error(err)
    return reporter.problems
