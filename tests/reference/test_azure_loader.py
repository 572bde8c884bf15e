"""Differential test against azure-ai-ml, Azure's own YAML loader, in its own virtual environment.

Every valid corpus file must be accepted by Azure too, every invalid one rejected, except the files whose
`# azure:` line records a deliberate difference (mlk looser or stricter, with the reason). Those lines are
the list of differences the README points at.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.specs import corpus

pytestmark = [pytest.mark.reference, pytest.mark.slow]

REFERENCE_PYTHON = Path(os.environ.get("MLK_REFERENCE_PYTHON", REPO / ".refenv/bin/python"))
AZURE_KINDS = ("online-endpoint", "online-deployment", "compute", "environment", "model")


def azure_verdicts(files: list[list[str]]) -> dict[str, str]:
    """Azure's loader's verdict on each [kind, path], from the reference environment."""
    if not REFERENCE_PYTHON.exists():
        pytest.skip(
            f"azure-ai-ml reference environment absent ({REFERENCE_PYTHON}); create it with scripts/setup --reference"
        )
    proc = subprocess.run(
        [str(REFERENCE_PYTHON), str(REPO / "tests/reference/azure_loader.py")],
        cwd=REPO,
        input=json.dumps(files),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    verdicts: dict[str, str] = json.loads(proc.stdout)
    return verdicts


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    return azure_verdicts([[str(corpus.kind_of(p)), str(p.relative_to(REPO))] for p in CASES])


CASES = [p for state in ("valid", "invalid") for p in corpus.corpus(state) if corpus.kind_of(p) in AZURE_KINDS]


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}")
def test_azure_agrees_or_the_difference_is_recorded(path: Path, verdicts: dict[str, str]) -> None:
    got = verdicts[str(path.relative_to(REPO))]
    default = "accepts" if path.parent.parent.name == "valid" else "rejects"
    wanted = corpus.azure_verdict(path) or default
    assert got.split(":")[0] == wanted, f"azure-ai-ml {got}"


def test_the_example_files_load_in_azure_ml() -> None:
    files = [
        ["online-endpoint", "examples/endpoint.yml"],
        ["online-deployment", "examples/blue.yml"],
        ["online-deployment", "examples/green.yml"],
        ["compute", "examples/compute.yml"],
    ]
    assert set(azure_verdicts(files).values()) == {"accepts"}
