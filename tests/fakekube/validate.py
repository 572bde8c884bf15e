"""Schema validation: built-in kinds against the upstream schemas kubernetes-validate ships, custom resources
against their CRD, and every custom resource's metadata against ObjectMeta.

Built-ins are checked in strict mode (an unknown field is an error): that is what `kubectl` (fieldValidation=Strict
by default since 1.27) and server-side apply get from a real server, and what catches a misspelt field in a manifest
mlk renders. A client that asks for `fieldValidation=Ignore` or `Warn` gets the lenient schema instead.
Errors are phrased like the server's (`spec.replicas: Invalid value: ...`) and collected, not just the first.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate.utils import all_versions, major_minor
from packaging.version import Version
from referencing import Registry, Resource

from tests.fakekube.errors import cause

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
DEFINITIONS = "https://kubernetes.io/api/_definitions.json"


def schema_version(wanted: str) -> str:
    """The newest schema set not newer than `wanted` (kubernetes-validate's own rule)."""
    wanted = major_minor(wanted.removeprefix("v"))
    fitting = [v for v in all_versions() if Version(major_minor(v)) <= Version(wanted)]
    if not fitting:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {wanted}")
    return str(fitting[-1])


@functools.cache
def _registry(folder: str) -> Registry:
    definitions = json.loads((SCHEMAS / folder / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@functools.cache
def _validator(folder: str, filename: str) -> jsonschema.protocols.Validator | None:
    path = SCHEMAS / folder / filename
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=_registry(folder))


def _upstream(obj: dict[str, Any], kube_version: str, strict: bool) -> jsonschema.protocols.Validator | None:
    """The validator of a built-in kind (kubernetes-validate's file naming: `deployment-apps-v1.json`)."""
    folder = f"v{schema_version(kube_version)}-local" + ("-strict" if strict else "")
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", str(obj.get("apiVersion", "")))
    return _validator(folder, f"{str(obj.get('kind', '')).lower()}-{api}.json")


def builtin_errors(obj: dict[str, Any], kube_version: str, strict: bool) -> list[dict[str, str]]:
    """Errors of a built-in object against its upstream schema ([] for a kind the schemas do not know)."""
    validator = _upstream(obj, kube_version, strict)
    return errors_of(validator, obj) if validator else []


def prune_unknown(obj: dict[str, Any], kube_version: str) -> list[str]:
    """Drop the fields of a built-in object its schema does not declare (fieldValidation Ignore or Warn)."""
    validator = _upstream(obj, kube_version, strict=True)
    dropped = []
    for error in list(validator.iter_errors(obj)) if validator else []:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = (error.schema.get("properties") if isinstance(error.schema, dict) else None) or {}
            for key in [k for k in error.instance if k not in known]:
                del error.instance[key]
                dropped.append(_field([*error.absolute_path, key]))
    return dropped


@functools.cache
def _object_meta(folder: str) -> jsonschema.protocols.Validator:
    ref = {"$ref": f"{DEFINITIONS}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    return jsonschema.Draft202012Validator(ref, registry=_registry(folder))


def object_meta_errors(meta: dict[str, Any], kube_version: str) -> list[dict[str, str]]:
    errors = errors_of(_object_meta(f"v{schema_version(kube_version)}-local"), meta)
    for error in errors:
        error["field"] = f"metadata.{error['field']}".rstrip(".")
    return errors


def _field(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: jsonschema.ValidationError) -> list[dict[str, str]]:
    """Phrase a jsonschema error as the real server phrases a validation error."""
    field, value, validator = _field(error.absolute_path), error.instance, error.validator
    shown = json.dumps(value)

    def join(key: object) -> str:
        return f"{field}.{key}" if field else str(key)

    if validator == "additionalProperties" and isinstance(value, dict):
        known = (error.schema.get("properties") if isinstance(error.schema, dict) else None) or {}
        return [cause(join(k), f'unknown field "{join(k)}"', "FieldValueInvalid") for k in value if k not in known]
    if validator == "required":
        missing = str(error.message).split("'")[1]
        return [cause(join(missing), "Required value", "FieldValueRequired")]
    if validator == "enum":
        values = error.validator_value if isinstance(error.validator_value, list) else []
        allowed = ", ".join(json.dumps(v) for v in values)
        return [cause(field, f"Unsupported value: {shown}: supported values: {allowed}", "FieldValueNotSupported")]
    if validator == "type":
        expected = error.validator_value
        expected = expected[0] if isinstance(expected, list) and len(expected) == 2 else expected
        message = f'Invalid value: "{type(value).__name__}": {field} in body must be of type {expected}: {shown}'
        return [cause(field, message, "FieldValueTypeInvalid")]
    return [cause(field, f"Invalid value: {shown}: {field} in body {error.message}")]


def errors_of(validator: jsonschema.protocols.Validator, obj: Any) -> list[dict[str, str]]:
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return [c for e in errors[:20] for c in _describe(e)]
