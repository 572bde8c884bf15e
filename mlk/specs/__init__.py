"""Azure ML YAML → validated, defaulted, resolved specs. Pure: reads files, talks to nothing.

    from mlk.specs import load_spec
    spec = load_spec("blue.yml", set_values=("instance_count=2",))
    spec.kind.name, spec.data["request_settings"]

Names are imported on first use, so `mlk.specs.problems` stays cheap for the CLI's start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlk.specs.kinds import KINDS, Kind, kind_named
    from mlk.specs.load import Spec, load_document, load_spec, read_document
    from mlk.specs.problems import Problem, Severity, format_path

_WHERE = {
    "KINDS": "kinds",
    "Kind": "kinds",
    "kind_named": "kinds",
    "Spec": "load",
    "load_document": "load",
    "load_spec": "load",
    "read_document": "load",
    "Problem": "problems",
    "Severity": "problems",
    "format_path": "problems",
}
__all__ = [
    "KINDS",
    "Kind",
    "Problem",
    "Severity",
    "Spec",
    "format_path",
    "kind_named",
    "load_document",
    "load_spec",
    "read_document",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"mlk.specs.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'mlk.specs' has no attribute {name!r}")
