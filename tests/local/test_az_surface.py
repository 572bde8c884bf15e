"""az ml's surface as Azure's scripts use it, on the embedded default: --local and Azure's local-endpoint
rules, -g/--workspace-name, several values after one --set, generic update (--add/--remove/--force-string),
ARM-shaped ids, names without case, and an unknown deployment named as such."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_mlk
from tests.local.conftest import APP, endpoint_up, mlk, score
from tests.server.harness import request


def _json(*args: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(mlk(*args, "-o", "json").stdout)
    return loaded


def test_a_local_endpoint_follows_azures_rules(home: Path) -> None:
    """az ml online-endpoint create --local; online-deployment create --local (no --all-traffic); invoke;
    curl the scoring URI bare; one deployment only."""
    mlk("online-endpoint", "create", "-f", "endpoint.yml", "--local", "-g", "my-rg", "--workspace-name", "default")
    mlk("online-deployment", "create", "-f", "blue.yml", "--local")
    answer = json.loads(
        mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-r", "request.json", "--local").stdout
    )
    assert answer["deployment"] == "blue"
    shown = _json("online-endpoint", "show", "-n", "test-endpoint", "--local")
    port = int(str(shown["scoring_uri"]).split(":")[2].split("/")[0])
    bare = request(port, "POST", "/api/v1/endpoint/test-endpoint/score", "{}", {"Content-Type": "application/json"})
    assert bare.status == 200, bare.body  # Azure's scripts curl a local endpoint without a key
    second = run_mlk("online-deployment", "create", "-f", "green.yml", "--local", cwd=APP)
    assert second.exit_code == 4 and "one deployment" in second.stderr
    for command in (
        ("online-endpoint", "list", "--local"),
        ("online-endpoint", "get-credentials", "-n", "test-endpoint", "--local"),
        ("online-deployment", "list", "-e", "test-endpoint", "--local"),
        ("online-deployment", "show", "-n", "blue", "-e", "test-endpoint", "--local"),
        ("online-deployment", "get-logs", "-n", "blue", "-e", "test-endpoint", "--local"),
    ):
        mlk(*command)


def test_an_endpoint_placed_here_keeps_keys_and_traffic(home: Path) -> None:
    port, key = endpoint_up("blue")
    bare = request(port, "POST", "/api/v1/endpoint/test-endpoint/score", "{}", {"Content-Type": "application/json"})
    assert bare.status == 401
    assert score(port, key).status == 200
    mlk("online-deployment", "create", "-f", "green.yml")  # a second deployment: no traffic until told
    assert json.loads(score(port, key).body)["deployment"] == "blue"


def test_scripts_query_ids_and_update_generically(home: Path) -> None:
    endpoint_up("blue")
    ident = mlk("online-endpoint", "show", "-n", "test-endpoint", "--query", "id", "-o", "tsv").stdout.strip()
    assert ident.endswith("/Microsoft.MachineLearningServices/workspaces/default/onlineEndpoints/test-endpoint")
    assert ident.startswith("/subscriptions/")
    shown = _json("online-endpoint", "show", "-n", "test-endpoint")
    assert {"id", "properties", "identity", "tags", "kind"} <= set(shown)
    dep = _json("online-deployment", "show", "-n", "blue", "-e", "test-endpoint")
    assert str(dep["id"]).endswith("/onlineEndpoints/test-endpoint/deployments/blue")

    mlk("online-endpoint", "update", "-n", "test-endpoint", "--set", "tags.team=ml", "tags.cost=12")
    tags = _json("online-endpoint", "show", "-n", "test-endpoint")["tags"]
    assert tags == {"team": "ml", "cost": 12}
    mlk("online-endpoint", "update", "-n", "test-endpoint", "--set", "tags.cost=12", "--force-string")
    mlk("online-endpoint", "update", "-n", "test-endpoint", "--add", "tags", "owner=ana", "stage=dev")
    mlk("online-endpoint", "update", "-n", "test-endpoint", "--remove", "tags.team")
    tags = _json("online-endpoint", "show", "-n", "test-endpoint")["tags"]
    assert tags == {"cost": "12", "owner": "ana", "stage": "dev"}
    missing = run_mlk("online-endpoint", "update", "-n", "test-endpoint", "--remove", "tags.nobody", cwd=APP)
    assert missing.exit_code == 2 and "nothing at 'nobody'" in missing.stderr

    update = ("online-deployment", "update", "-n", "blue", "-e", "test-endpoint", "--add", "environment_variables")
    mlk(*update, "X=1", "--force-string")  # 1 would be read as a number
    env = _json("online-deployment", "show", "-n", "blue", "-e", "test-endpoint")["environment_variables"]
    assert env == {"DEPLOYMENT_TAG": "blue", "X": "1"}


def test_names_have_no_case_and_unknown_deployments_are_named(home: Path) -> None:
    endpoint_up("blue")
    shown = _json("online-deployment", "show", "-n", "Blue", "-e", "Test-Endpoint")
    assert shown["name"] == "blue"
    refused = run_mlk("online-deployment", "delete", "-n", "Blue", "-e", "test-endpoint", "--yes", cwd=APP)
    assert refused.exit_code == 4 and "traffic" in refused.stderr  # Blue is blue, which takes the traffic
    unknown = run_mlk(
        "online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-d", "nope", "-r", "request.json", cwd=APP
    )
    assert unknown.exit_code == 3 and "'nope'" in unknown.stderr, unknown.stderr
    gone = run_mlk("online-endpoint", "show", "-n", "missing-endpoint", cwd=APP)
    assert gone.exit_code == 3


def test_verbose_says_the_resource_group_is_ignored(home: Path) -> None:
    said = run_mlk("online-endpoint", "list", "-g", "my-rg", "--verbose", cwd=APP)
    assert said.exit_code == 0 and "my-rg: ignored" in said.stderr
