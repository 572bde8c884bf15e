"""Differential test against knack, az's own output formatter, in the reference environment.

The same results (az ml-shaped records and awkward values), with and without a --query or a table
transformer, go through knack's formatters there and through mlk's console here; the text must be the
same byte for byte, colours included.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlk.cli.console import Console
from tests.conftest import REPO

pytestmark = [pytest.mark.reference]

REFERENCE_PYTHON = Path(os.environ.get("MLK_REFERENCE_PYTHON", REPO / ".refenv/bin/python"))

# Runs in the reference environment: reads [{result, format, query, transformer}] and writes the text az
# would print for each (nothing for a null result, as knack's CLI prints nothing then).
KNACK = """
import json, sys
from collections import OrderedDict
import jmespath
from knack.output import OutputProducer
from knack.util import CommandResultItem

texts = []
for case in json.load(sys.stdin):
    result = case["result"]
    if case["query"]:
        result = jmespath.compile(case["query"]).search(result, jmespath.Options(OrderedDict))
    if result is None:
        texts.append("")
        continue
    item = CommandResultItem(result, table_transformer=case["transformer"], is_query_active=bool(case["query"]))
    texts.append(OutputProducer._FORMAT_DICT[case["format"]](item))
json.dump(texts, sys.stdout)
"""

ENDPOINT = {
    "$schema": "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json",
    "name": "my-endpoint",
    "id": "/subscriptions/x/onlineEndpoints/my-endpoint",
    "type": "online_endpoint",
    "kind": "K8s",
    "location": "local",
    "auth_mode": "key",
    "compute": "k8s-compute",
    "description": None,
    "identity": {"type": "system_assigned"},
    "mirror_traffic": {},
    "traffic": {"blue": 90, "green": 10},
    "tags": {},
    "properties": {"mlk.router": "http://127.0.0.1:8765"},
    "provisioning_state": "Succeeded",
    "public_network_access": "enabled",
    "scoring_uri": "http://127.0.0.1:8765/my-endpoint/score",
    "openapi_uri": "http://127.0.0.1:8765/my-endpoint/swagger.json",
}
DEPLOYMENTS = [
    {
        "name": "blue",
        "endpoint_name": "my-endpoint",
        "type": "kubernetes",
        "instance_count": 1,
        "instance_type": "defaultinstancetype",
        "model": "azureml:model-1:1",
        "environment_variables": {},
        "request_settings": {"request_timeout_ms": 3000, "max_concurrent_requests_per_instance": 1},
        "app_insights_enabled": False,
        "provisioning_state": "Succeeded",
        "tags": {"team": "ml"},
    },
    {
        "name": "green",
        "endpoint_name": "my-endpoint",
        "type": "kubernetes",
        "instance_count": 2,
        "instance_type": None,
        "model": "azureml:model-2:1",
        "app_insights_enabled": True,
        "provisioning_state": "Updating",
        "code_configuration": {"code": "./onlinescoring", "scoring_script": "score.py"},
    },
]
AWKWARD = {
    "empty_string": "",
    "none": None,
    "empty_list": [],
    "empty_dict": {},
    "list": [1, "two", None],
    "nested": {"a": {"b": [1]}},
    "yes": True,
    "no": False,
    "int": -3,
    "big": 2**64,
    "float": 0.1,
    "huge": 1e20,
    "whole": 1.0,
    "padded": "  spaces around  ",
    "tab": "a\tb",
    "unicode": "déploiement ünï 模型 ✓",
    "éclair": "é",
    "_private": "underscore",
    "Zed": "capital",
    "etag": "skipped in tables",
}
CASES: dict[str, Any] = {
    "endpoint-show": ENDPOINT,
    "deployment-list": DEPLOYMENTS,
    "awkward-values": AWKWARD,
    "a-list-of-awkward-values": [AWKWARD, {"only": "one"}, {}],
    "empty-list": [],
    "empty-dict": {},
    "list-of-empty-dicts": [{}, {}],
    "string": "my-endpoint",
    "number": 3000,
    "boolean": True,
    "scalars": ["a", 1, 2.5, True, False, None, ""],
    "lists": [[1, "x", None], [True, [2], {"k": 1}]],
    "mixed-rows": [{"name": "a"}, "plain", [1, 2]],
    "multiline": [{"name": "a", "log": "line one\nline two\r\nthree"}, {"name": "bb", "log": ""}, {"log": "\n"}],
    "ansi": [{"name": "\x1b[31mred\x1b[0m", "state": "ok"}],
    "same-header-twice": {"a": 1, "A": 2},
}
QUERIES = {
    "pick-fields": (DEPLOYMENTS, "[].{Name: name, state: provisioning_state, count: instance_count, t: tags}"),
    "pick-reordered": (ENDPOINT, "{z: name, a: auth_mode, m: traffic, n: description}"),
    "one-item": (DEPLOYMENTS, "[0]"),
    "one-field": (ENDPOINT, "provisioning_state"),
    "a-boolean": (DEPLOYMENTS, "[1].app_insights_enabled"),
    "a-list-of-names": (DEPLOYMENTS, "[].name"),
    "a-mapping": (ENDPOINT, "traffic"),
    "nothing": (ENDPOINT, "no_such_field"),
}
TRANSFORMER = "[].{name: name, endpoint: endpoint_name, state: provisioning_state}"
FORMATS = ["json", "jsonc", "yaml", "yamlc", "table", "tsv", "none"]


def _cases() -> list[dict[str, Any]]:
    cases = [
        {"id": f"{name}-{fmt}", "result": result, "format": fmt, "query": None, "transformer": None}
        for name, result in CASES.items()
        for fmt in FORMATS
    ]
    cases += [
        {"id": f"query-{name}-{fmt}", "result": result, "format": fmt, "query": query, "transformer": None}
        for name, (result, query) in QUERIES.items()
        for fmt in FORMATS
    ]
    cases += [
        {"id": f"transformer-{q}", "result": DEPLOYMENTS, "format": "table", "query": q, "transformer": TRANSFORMER}
        for q in (None, "[].{n: name, e: endpoint_name}")
    ]
    return cases


ALL = _cases()


@pytest.fixture(scope="module")
def knack() -> dict[str, str]:
    """What knack writes for every case, by case id."""
    if not REFERENCE_PYTHON.exists():
        pytest.skip(f"reference environment absent ({REFERENCE_PYTHON}); create it with scripts/setup --reference")
    proc = subprocess.run(
        [str(REFERENCE_PYTHON), "-c", KNACK],
        cwd=REPO,
        input=json.dumps(ALL),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "No module named 'knack'" in proc.stderr:
        pytest.fail(f"knack is missing from {REFERENCE_PYTHON}: run scripts/setup --reference")
    assert proc.returncode == 0, proc.stderr
    return dict(zip([case["id"] for case in ALL], json.loads(proc.stdout), strict=True))


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so jsonc and yamlc colour as they do for a person."""

    def isatty(self) -> bool:
        return True


def mlk_text(case: dict[str, Any]) -> str:
    """What mlk's console prints for the case, with stdout and stderr both terminals."""
    import jmespath

    console = Console(out=Terminal(), err=Terminal())
    console.settings.output = case["format"]
    console.settings.query = case["query"]
    expression = case["transformer"]
    console.result(
        json.loads(json.dumps(case["result"])),  # the very values knack gets, from the same JSON
        table=(lambda data: jmespath.search(expression, data)) if expression else None,
    )
    assert isinstance(console.out, io.StringIO)
    return console.out.getvalue()


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("NO_COLOR", "AZURE_CORE_OUTPUT", "AZURE_CORE_NO_COLOR", "AZURE_CORE_ONLY_SHOW_ERRORS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("MLK_HOME", str(tmp_path))  # no config file


@pytest.mark.parametrize("case", ALL, ids=[case["id"] for case in ALL])
def test_mlk_prints_what_az_prints(case: dict[str, Any], knack: dict[str, str]) -> None:
    assert mlk_text(case) == knack[case["id"]]


def test_the_known_quirks_are_among_the_cases(knack: dict[str, str]) -> None:
    # Written out once, so a reader sees what "as az prints it" means without running knack.
    assert knack["query-a-boolean-tsv"] == "true\n"  # a whole-line boolean: lower case
    assert "\tTrue\t" in knack["awkward-values-tsv"] and "\tNone\t" in knack["awkward-values-tsv"]  # inside: str()
    assert knack["deployment-list-table"].splitlines()[0].split() == [
        "App_insights_enabled",
        "Endpoint_name",
        "Instance_count",
        "Instance_type",
        "Model",
        "Name",
        "Provisioning_state",
    ]
    assert knack["empty-list-table"] == "\n" and knack["empty-list-tsv"] == ""
    assert knack["query-nothing-json"] == ""
