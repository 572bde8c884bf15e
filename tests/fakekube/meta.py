"""Object metadata rules the API server enforces before any schema: names, labels, annotations, finalizers.

The upstream JSON schemas only say "string" for these, yet a real server rejects `Web_App` as a name and a label
value with a space; mlk derives names and labels from user input, so the fake must reject them the same way,
with the same wording (people search for it).
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.fakekube.errors import cause

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

_RULES: dict[str, tuple[str, int, str]] = {
    "subdomain": (
        _SUBDOMAIN,
        253,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        f"'{_SUBDOMAIN}')",
    ),
    "label": (
        _LABEL,
        63,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        f"end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{_LABEL}')",
    ),
    "dns1035": (
        _DNS1035,
        63,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
        f"character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
        f"validation is '{_DNS1035}')",
    ),
}

GENERATED_CHARS = "bcdfghjklmnpqrstvwxz2456789"
"""The alphabet of generateName suffixes and pod-template hashes (no vowels: no words by accident)."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def generated_name(prefix: str) -> str:
    return prefix + "".join(random.choices(GENERATED_CHARS, k=5))


def name_errors(name: str, rule: str, field: str = "metadata.name") -> list[dict[str, str]]:
    """Messages for a name breaking its type's rule; `path` names only need to be a URL path segment."""
    if rule == "path":
        bad = name in {".", ".."} or "/" in name or "%" in name
        return [cause(field, f"Invalid value: \"{name}\": may not contain '/' or '%'")] if bad else []
    pattern, limit, text = _RULES[rule]
    errors = []
    if len(name) > limit:
        errors.append(cause(field, f'Invalid value: "{name}": must be no more than {limit} characters'))
    if not re.fullmatch(pattern, name):
        errors.append(cause(field, f'Invalid value: "{name}": {text}'))
    return errors


def qualified_name_errors(key: str, field: str) -> list[dict[str, str]]:
    """A label/annotation key or finalizer: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 characters."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not re.fullmatch(_SUBDOMAIN, prefix)):
        return [cause(field, f'Invalid value: "{key}": prefix part {_RULES["subdomain"][2]}')]
    if not name or len(name) > 63 or not re.fullmatch(_QUALIFIED, name):
        text = (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            f"'{_QUALIFIED}') and must be no more than 63 characters"
        )
        return [cause(field, f'Invalid value: "{key}": {text}')]
    return []


def metadata_errors(meta: dict[str, Any], rule: str) -> list[dict[str, str]]:
    """Everything about `metadata` a real server checks beyond the schema's types."""
    errors = name_errors(str(meta.get("name", "")), rule)
    labels, annotations, finalizers = meta.get("labels"), meta.get("annotations"), meta.get("finalizers")
    for key, value in (labels if isinstance(labels, dict) else {}).items():
        errors += qualified_name_errors(key, "metadata.labels")
        if not isinstance(value, str) or len(value) > 63 or not re.fullmatch(_LABEL_VALUE, value):
            text = (
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                f"regex used for validation is '{_LABEL_VALUE}') and be no more than 63 characters"
            )
            errors.append(cause("metadata.labels", f'Invalid value: "{value}": {text}'))
    for key in annotations if isinstance(annotations, dict) else {}:
        errors += qualified_name_errors(key, "metadata.annotations")
    for index, finalizer in enumerate(finalizers if isinstance(finalizers, list) else []):
        errors += qualified_name_errors(str(finalizer), f"metadata.finalizers[{index}]")
    return errors


OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
"""ObjectMeta's fields: a custom resource's metadata is pruned to these, as the real server does."""

SYSTEM_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
)
"""Set by the server only: a client's values are replaced by the stored ones."""
