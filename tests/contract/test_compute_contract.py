"""One contract for every `Compute` implementation (see conftest): the same commands give the same
answers, exit codes included, whether the endpoint runs as processes, in Docker or on Kubernetes.

Each divergence a review found between the embedded default and Kubernetes is a case here: "not found" is
exit 3 everywhere, names have no case (`-n Blue` is `blue`, traffic included), a deployment that takes
mirror traffic cannot be deleted, and logs are read the same way."""

from __future__ import annotations

import json
import uuid

from tests.contract.conftest import Target


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"  # the cluster is shared by the session's tests


def _json(target: Target, *args: str) -> object:
    return json.loads(target.mlk(*args, "-o", "json").stdout)


def test_lifecycle(target: Target) -> None:
    ep = target.endpoint(_name("life"))
    target.deployment(ep, "blue.yml", "--all-traffic")
    shown = _json(target, "online-endpoint", "show", "-n", ep)
    assert isinstance(shown, dict)
    assert shown["provisioning_state"] == "Succeeded" and shown["traffic"] == {"blue": 100}
    assert str(shown["id"]).endswith(f"/onlineEndpoints/{ep}") and shown["scoring_uri"]
    printed = _json(target, "online-endpoint", "invoke", "-n", ep, "-r", "request.json")
    assert isinstance(printed, str)  # az prints the body as one JSON string (the SDK returns response.text())
    answer = json.loads(target.mlk("online-endpoint", "invoke", "-n", ep, "-r", "request.json", "-o", "tsv").stdout)
    assert answer == json.loads(printed) and answer["deployment"] == "blue"
    listed = _json(target, "online-deployment", "list", "-e", ep)
    assert isinstance(listed, list) and [d["name"] for d in listed] == ["blue"]
    assert listed[0]["provisioning_state"] == "Succeeded"
    keys = _json(target, "online-endpoint", "get-credentials", "-n", ep)
    assert isinstance(keys, dict) and keys["primaryKey"] and keys["secondaryKey"]
    logs = target.mlk("online-deployment", "get-logs", "-n", "blue", "-e", ep, "--lines", "3").stdout
    assert 1 <= len(logs.splitlines()) <= 3, logs  # az's --lines: what it prints in all
    target.mlk("online-endpoint", "delete", "-n", ep, "--yes")
    assert target.mlk("online-endpoint", "show", "-n", ep, ok=False).exit_code == 3


def test_what_does_not_exist_is_exit_3(target: Target) -> None:
    ep = target.endpoint(_name("nf"))
    target.deployment(ep, "blue.yml", "--all-traffic")
    missing = "no-such-endpoint"
    for args in (
        ("online-endpoint", "show", "-n", missing),
        ("online-endpoint", "update", "-n", missing, "--traffic", "blue=100"),
        ("online-endpoint", "get-credentials", "-n", missing),
        ("online-endpoint", "invoke", "-o", "tsv", "-n", missing, "-r", "request.json"),
        ("online-endpoint", "delete", "-n", missing, "--yes"),
        ("online-deployment", "list", "-e", missing),
        ("online-deployment", "show", "-n", "nope", "-e", ep),
        ("online-deployment", "get-logs", "-n", "nope", "-e", ep),
        ("online-deployment", "delete", "-n", "nope", "-e", ep, "--yes"),
        ("online-endpoint", "invoke", "-o", "tsv", "-n", ep, "-d", "nope", "-r", "request.json"),
    ):
        done = target.mlk(*args, ok=False)
        assert done.exit_code == 3, f"{' '.join(args)} → {done.exit_code}: {done.stderr}"


def test_names_have_no_case_and_traffic_protects_deployments(target: Target) -> None:
    ep = target.endpoint(_name("case"))
    target.deployment(ep, "blue.yml", "--all-traffic")
    target.deployment(ep, "green.yml")
    shown = _json(target, "online-deployment", "show", "-n", "Blue", "-e", ep.upper())
    assert isinstance(shown, dict) and shown["name"] == "blue"
    refused = target.mlk("online-deployment", "delete", "-n", "Blue", "-e", ep, "--yes", ok=False)
    assert refused.exit_code == 4 and "traffic" in refused.stderr, refused.stderr
    target.mlk("online-endpoint", "update", "-n", ep, "--mirror-traffic", "green=10")
    mirrored = target.mlk("online-deployment", "delete", "-n", "green", "-e", ep, "--yes", ok=False)
    assert mirrored.exit_code == 4 and "mirror" in mirrored.stderr, mirrored.stderr
    wrong = target.mlk("online-endpoint", "update", "-n", ep, "--traffic", "blue=50 nobody=50", ok=False)
    assert wrong.exit_code == 2, wrong.stderr
    target.mlk("online-endpoint", "update", "-n", ep, "--mirror-traffic", "green=0")
    target.mlk("online-deployment", "delete", "-n", "green", "-e", ep, "--yes")
