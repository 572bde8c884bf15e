"""Shared checks for the render tests: upstream validation of every object, and golden files.

Golden files (tests/render/golden/*.yaml) hold rendered objects exactly; a change to one is a change to what
mlk puts in clusters, reviewed in the diff. After an intended change, regenerate them:

    MLK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/render

and read `git diff tests/render/golden` before committing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from mlk.render import GROUP, crds
from mlk.render.crdcheck import cr_problems
from tests.render.prometheus_crd import CRDS_BY_API

GOLDEN = Path(__file__).parent / "golden"
K8S_VERSIONS = ("1.31", "1.33", "1.35")
"""Three minor versions kubernetes-validate ships schemas for, spanning the supported range."""
RUNTIME = {
    "image": "registry.example.com/mlk/azureml_0123456789abcdef0123456789abcdef:latest",
    "model": {"digest": "a" * 64, "name": "model"},
    "code": {"digest": "b" * 64, "name": "onlinescoring"},
    "storage": "https://account.blob.core.windows.net/mlk",
}
SYSTEM_IMAGE = "ghcr.io/mlk-dev/mlk:0.1.0"


@cache
def _crd_by_kind() -> dict[str, dict[str, Any]]:
    return {c["spec"]["names"]["kind"]: c for c in crds()}


def assert_valid(objects: Iterable[Mapping[str, Any]]) -> None:
    """Every object passes kubernetes-validate (strict) for each version; mlk's own resources their CRD, the
    Prometheus operator's (ServiceMonitor) the stand-in for its CRD in prometheus_crd."""
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].split("/")[0] == GROUP:
            assert cr_problems(_crd_by_kind()[obj["kind"]], obj) == [], where
            continue
        if (obj["apiVersion"], obj["kind"]) in CRDS_BY_API:
            assert cr_problems(CRDS_BY_API[obj["apiVersion"], obj["kind"]], obj) == [], where
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(dict(obj), version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                raise AssertionError(f"{where} invalid for Kubernetes {version}: {path}: {exc.message}") from None


def check_golden(name: str, objects: list[dict[str, Any]]) -> None:
    """Compare with golden/<name>.yaml; MLK_UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / f"{name}.yaml"
    text = yaml.safe_dump_all(objects, sort_keys=False, width=120)
    if os.environ.get("MLK_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run MLK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/render"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs (MLK_UPDATE_GOLDEN=1 after an intended change)"
    )
