"""Which compute an endpoint lives on: the embedded default (`local`) or an attached Kubernetes cluster.

New endpoints go where their YAML's `compute:` says (az ml's `azureml:NAME` form), else to the
workspace's default compute; `--local` forces this machine. An existing endpoint stays where it was
created, so every later command finds it without being told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOCAL = "local"


def for_new_endpoint(ws: Any, spec: Mapping[str, Any], local: bool) -> dict[str, Any]:
    from mlk.workspace import computes

    if local:
        return computes.get(ws, LOCAL)
    return computes.get(ws, str(spec.get("compute") or ws.default_compute))


def of_endpoint(ws: Any, name: str) -> dict[str, Any]:
    from mlk.workspace import computes, state

    record = state.endpoint(state.load(ws), name)
    return computes.get(ws, str(record.get("compute") or LOCAL))


def is_local(compute: Mapping[str, Any]) -> bool:
    return compute.get("type") == LOCAL
