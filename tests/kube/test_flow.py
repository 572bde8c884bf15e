"""The az ml flow against a cluster, end to end: the real CLI and kubernetes client against the real
control plane; the operator (kopf) and in-cluster router as pods with their own ServiceAccounts; the
inference pods run by the node agent; assets in Azurite; the scoring URI the router's LoadBalancer
address.

install → attach → endpoint create → deployment create --all-traffic → invoke → second deployment →
traffic shift → keys → logs → failures with their real reasons → delete, nothing left behind.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlk.render import names
from tests.kube.env import COMPUTE, NAMESPACE, KubeEnv

pytestmark = pytest.mark.slow
ENDPOINT = "test-endpoint"


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def _invoke_until_ok(kube: KubeEnv, *extra: str, timeout: float = 60, retry_on: str = "503") -> Any:
    """The operator reports Succeeded when the pods are Ready; the router learns the replica's address a
    moment later (its EndpointSlice), as in a real cluster: retry briefly on 503."""
    deadline = time.monotonic() + timeout
    while True:
        result = kube.mlk(
            "online-endpoint", "invoke", "-n", ENDPOINT, "-r", "request.json", *extra, "-o", "tsv", ok=False
        )
        if result.exit_code == 0:
            return _json(result)
        if time.monotonic() > deadline or retry_on not in result.stderr:
            pods = kube.cluster.kubectl("get", "pods", "-A", "-o", "wide").stdout
            raise AssertionError(f"invoke failed: {result.stderr}\n{pods}")
        time.sleep(0.3)


def test_attach_checks_before_it_records(kube: KubeEnv) -> None:
    missing = kube.mlk("compute", "attach", "--type", "Kubernetes", "-n", "nope", "--namespace", "absent", ok=False)
    assert missing.exit_code != 0 and "namespace 'absent' does not exist" in missing.stderr
    assert "--create-namespace" in missing.stderr
    listed = _json(kube.mlk("compute", "list", "-o", "json"))
    assert "nope" not in [c["name"] for c in listed]


def test_safe_rollout_on_the_cluster(kube: KubeEnv) -> None:
    attached = _json(kube.mlk("compute", "show", "-n", COMPUTE, "-o", "json"))
    assert attached["namespace"] == NAMESPACE

    endpoint = _json(
        kube.mlk("online-endpoint", "create", "-f", "endpoint.yml", "--set", f"compute=azureml:{COMPUTE}", "-o", "json")
    )
    assert endpoint["provisioning_state"] == "Succeeded"
    router = next(s for s in kube.objects("services", "mlk-system") if s["metadata"]["name"] == "mlk-router")
    address = router["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert endpoint["scoring_uri"] == f"http://{address}/api/v1/endpoint/{ENDPOINT}/score"
    keys_secret = kube.objects("secrets", NAMESPACE)
    assert names.keys_secret_name(ENDPOINT) in [s["metadata"]["name"] for s in keys_secret]

    created = kube.mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic", "-o", "json")
    blue = _json(created)
    assert blue["provisioning_state"] == "Succeeded", created.stderr
    assert "Succeeded" in created.stderr  # the live view of the operator's conditions
    workloads = kube.objects("deployments.apps", NAMESPACE)
    pod_spec = workloads[0]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod_spec["initContainers"]] == ["storage-initializer"]
    assert pod_spec["containers"][0]["name"] == "inference-server"
    # the pods read a read-only SAS, never the account key
    pod_secret = next(s for s in kube.objects("secrets", NAMESPACE) if s["metadata"]["name"].endswith("-storage"))
    import base64

    storage = json.loads(base64.b64decode(pod_secret["data"]["storage.json"]))
    assert "sas_url" in storage and "AccountKey" not in json.dumps(storage)
    assert "sp=rl" in storage["sas_url"]

    answer = _invoke_until_ok(kube)
    assert answer["model"] == ["model"] and answer["deployment"] == "blue"

    green = kube.mlk("online-deployment", "create", "-f", "green.yml", "-o", "json")
    assert _json(green)["provisioning_state"] == "Succeeded"
    shifted = _json(
        kube.mlk("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=90 green=10", "-o", "json")
    )
    assert shifted["traffic"] == {"blue": 90, "green": 10}
    assert _invoke_until_ok(kube, "-d", "green")["deployment"] == "green"
    seen = {_invoke_until_ok(kube)["deployment"] for _ in range(30)}
    assert seen == {"blue", "green"}

    listed = _json(kube.mlk("online-deployment", "list", "-e", ENDPOINT, "-o", "json"))
    assert sorted(d["name"] for d in listed) == ["blue", "green"]

    # keys: the router takes a regenerated key without a restart
    keys = _json(kube.mlk("online-endpoint", "get-credentials", "-n", ENDPOINT, "-o", "json"))
    kube.mlk("online-endpoint", "regenerate-keys", "-n", ENDPOINT, "--key-type", "primary")
    new_keys = _json(kube.mlk("online-endpoint", "get-credentials", "-n", ENDPOINT, "-o", "json"))
    assert new_keys["primaryKey"] != keys["primaryKey"] and new_keys["secondaryKey"] == keys["secondaryKey"]
    # the routers learn the new key from their watch of the keys Secret: within a moment, not at once
    assert _invoke_until_ok(kube, timeout=5, retry_on="401")["model"] == ["model"]

    # logs come from the pods, through the API server from the node's log endpoint
    init_log = kube.mlk("online-deployment", "get-logs", "-n", "blue", "-e", ENDPOINT, "-c", "storage-initializer")
    assert "storage-initializer: model" in init_log.stdout

    refused = kube.mlk("online-deployment", "delete", "-n", "blue", "-e", ENDPOINT, "--yes", ok=False)
    assert refused.exit_code != 0 and "90% of the traffic" in refused.stderr
    kube.mlk("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=0 green=100")
    kube.mlk("online-deployment", "delete", "-n", "blue", "-e", ENDPOINT, "--yes")
    assert _invoke_until_ok(kube)["deployment"] == "green"

    kube.mlk("online-endpoint", "delete", "-n", ENDPOINT, "--yes")
    kube.wait_for("the garbage collector", lambda: kube.objects("deployments.apps", NAMESPACE) == [], timeout=60)
    assert [s for s in kube.objects("secrets", NAMESPACE) if "keys" in s["metadata"]["name"]] == []
    gone = kube.mlk("online-endpoint", "show", "-n", ENDPOINT, ok=False)
    assert gone.exit_code != 0


def test_failures_carry_their_real_reason(kube: KubeEnv) -> None:
    kube.mlk(
        "online-endpoint", "create", "-f", "endpoint.yml", "-n", "failing-ep", "--set", f"compute=azureml:{COMPUTE}"
    )
    broken = kube.mlk(
        "online-deployment",
        "create",
        "-f",
        "blue.yml",
        "-e",
        "failing-ep",
        "--set",
        "environment_variables.INIT_FAIL=1",
        ok=False,
    )
    assert broken.exit_code != 0
    assert "CrashLoopBackOff" in broken.stderr
    assert "init failed on purpose: model file corrupted" in broken.stderr  # the container's last lines

    # the real scheduler's verdict: no node has 64 CPUs
    huge = "apiVersion: mlk.dev/v1alpha1\nkind: InstanceType\nmetadata: {name: huge-cpu}\n"
    huge += "spec: {resources: {requests: {cpu: '64', memory: 1Gi}, limits: {cpu: '64', memory: 1Gi}}}\n"
    (kube.root / "huge.yml").write_text(huge)
    kube.cluster.kubectl("apply", "-f", str(kube.root / "huge.yml"))
    kube.mlk(
        "online-deployment",
        "create",
        "-f",
        "green.yml",
        "-e",
        "failing-ep",
        "--no-wait",
        "--set",
        "instance_type=huge-cpu",
    )

    def failed() -> Any:
        shown = _json(kube.mlk("online-deployment", "show", "-n", "green", "-e", "failing-ep", "-o", "json"))
        return shown if shown["provisioning_state"] == "Failed" else None

    shown = kube.wait_for("green Failed", failed, timeout=60)
    assert shown["reason"]["reason"] == "Unschedulable" and "Insufficient cpu" in shown["reason"]["message"]
    kube.mlk("online-endpoint", "delete", "-n", "failing-ep", "--yes")


def test_bad_input_is_refused_before_anything_is_stored(kube: KubeEnv) -> None:
    no_endpoint = kube.mlk("online-deployment", "create", "-f", "blue.yml", "-e", "no-such-ep", ok=False)
    assert no_endpoint.exit_code != 0 and "no-such-ep" in no_endpoint.stderr
    kube.mlk(
        "online-endpoint", "create", "-f", "endpoint.yml", "-n", "strict-ep", "--set", f"compute=azureml:{COMPUTE}"
    )
    conda = kube.mlk(
        "online-deployment",
        "create",
        "-f",
        "blue.yml",
        "-e",
        "strict-ep",
        "--set",
        "environment.conda_file=conda.yml",
        ok=False,
    )
    assert conda.exit_code != 0
    assert kube.objects("onlinedeployments.mlk.dev", NAMESPACE) == []
    unknown = kube.mlk("online-endpoint", "update", "-n", "strict-ep", "--traffic", "purple=100", ok=False)
    assert unknown.exit_code != 0 and "purple" in unknown.stderr
    kube.mlk("online-endpoint", "delete", "-n", "strict-ep", "--yes")


def test_an_update_whose_new_pods_crash_fails_and_the_old_pod_keeps_serving(kube: KubeEnv) -> None:
    """Before the real control plane, the old ready pod kept such an update Succeeded."""
    kube.mlk(
        "online-endpoint", "create", "-f", "endpoint.yml", "-n", "update-ep", "--set", f"compute=azureml:{COMPUTE}"
    )
    kube.mlk("online-deployment", "create", "-f", "blue.yml", "-e", "update-ep", "--all-traffic")
    updated = kube.mlk(
        "online-deployment",
        "update",
        "-f",
        "blue.yml",
        "-e",
        "update-ep",
        "--set",
        "environment_variables.INIT_FAIL=1",
        ok=False,
    )
    assert updated.exit_code != 0, updated.stderr
    assert "CrashLoopBackOff" in updated.stderr and "init failed on purpose" in updated.stderr
    shown = _json(kube.mlk("online-deployment", "show", "-n", "blue", "-e", "update-ep", "-o", "json"))
    assert shown["provisioning_state"] == "Failed"
    # the Deployment controller keeps the old pod until a new one is ready: the endpoint still answers
    answer = _json(kube.mlk("online-endpoint", "invoke", "-n", "update-ep", "-r", "request.json", "-o", "tsv"))
    assert answer["deployment"] == "blue"
    kube.mlk("online-endpoint", "delete", "-n", "update-ep", "--yes")


def test_the_attached_namespace_enforces_pod_security_restricted(kube: KubeEnv) -> None:
    namespace = next(n for n in kube.objects("namespaces") if n["metadata"]["name"] == NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    privileged = kube.cluster.kubectl(
        "run",
        "root-pod",
        "-n",
        NAMESPACE,
        "--image=busybox",
        "--restart=Never",
        "--overrides",
        json.dumps(
            {
                "spec": {
                    "containers": [{"name": "root-pod", "image": "busybox", "securityContext": {"privileged": True}}]
                }
            }
        ),
        check=False,
    )
    assert privileged.returncode != 0 and "violates PodSecurity" in privileged.stderr


def test_least_privilege_as_each_service_account_sees_it(kube: KubeEnv) -> None:
    router, operator = "mlk-system:mlk-router", "mlk-system:mlk-operator"
    assert not kube.cluster.can_i(router, "list", "secrets", "kube-system")
    assert not kube.cluster.can_i(router, "get", "secrets", NAMESPACE)  # a team's namespace: not the router's
    assert kube.cluster.can_i(router, "watch", "secrets", "mlk-system")  # the operator's copies of the keys
    assert not kube.cluster.can_i(router, "create", "pods", NAMESPACE)
    assert not kube.cluster.can_i(operator, "create", "clusterrolebindings")
    assert not kube.cluster.can_i(operator, "delete", "nodes")
    assert not kube.cluster.can_i(operator, "create", "pods", NAMESPACE)  # Deployments make pods, not the operator


def test_rolling_update_and_delete_drop_no_request(kube: KubeEnv) -> None:
    """Clients keep scoring through the router's LoadBalancer address while blue rolls to a new version
    and green (shifted to 0%) is deleted: terminating pods leave rotation before they stop."""
    import threading
    import urllib.error
    import urllib.request

    kube.mlk(
        "online-endpoint", "create", "-f", "endpoint.yml", "-n", "steady-ep", "--set", f"compute=azureml:{COMPUTE}"
    )
    kube.mlk("online-deployment", "create", "-f", "blue.yml", "-e", "steady-ep", "--all-traffic")
    kube.mlk("online-deployment", "create", "-f", "green.yml", "-e", "steady-ep")
    kube.mlk("online-endpoint", "update", "-n", "steady-ep", "--traffic", "blue=50 green=50")
    shown = _json(kube.mlk("online-endpoint", "show", "-n", "steady-ep", "-o", "json"))
    key = _json(kube.mlk("online-endpoint", "get-credentials", "-n", "steady-ep", "-o", "json"))["primaryKey"]
    body = (Path(__file__).resolve().parents[1] / "local" / "app" / "request.json").read_bytes()
    stop, results = threading.Event(), {"ok": 0, "failed": []}  # type: dict[str, Any]
    _invoke_until_ok_at(shown["scoring_uri"], key, body)

    def client() -> None:
        while not stop.is_set():
            request = urllib.request.Request(shown["scoring_uri"], data=body, method="POST")
            request.add_header("Authorization", f"Bearer {key}")
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    answer.read()
                results["ok"] += 1
            except urllib.error.HTTPError as exc:
                results["failed"].append(f"{exc.code} {time.strftime('%X')}: {exc.read()[:300]!r}")
            except (urllib.error.URLError, OSError) as exc:
                results["failed"].append(f"{time.strftime('%X')}: {exc!r}")

    clients = [threading.Thread(target=client) for _ in range(3)]
    for thread in clients:
        thread.start()
    try:
        kube.mlk(
            "online-deployment",
            "update",
            "-f",
            "blue.yml",
            "-e",
            "steady-ep",
            "--set",
            "environment_variables.DEPLOYMENT_TAG=blue-2",
        )
        kube.mlk("online-endpoint", "update", "-n", "steady-ep", "--traffic", "blue=100 green=0")
        kube.mlk("online-deployment", "delete", "-n", "green", "-e", "steady-ep", "--yes")
        kube.wait_for(
            "green's pods gone",
            lambda: (
                not [p for p in kube.objects("pods", NAMESPACE) if p["metadata"]["name"].startswith("steady-ep-green")]
            ),
            timeout=90,
        )
        time.sleep(2)
    finally:
        stop.set()
        for thread in clients:
            thread.join(60)
    print(f"rolling update + delete under load: {results['ok']} answered, {len(results['failed'])} failed")
    assert results["ok"] > 50, results
    assert results["failed"] == [], f"{len(results['failed'])} of {results['ok']} failed: {results['failed'][:5]}"
    kube.mlk("online-endpoint", "delete", "-n", "steady-ep", "--yes")


def _invoke_until_ok_at(uri: str, key: str, body: bytes, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(uri, data=body, method="POST")
        request.add_header("Authorization", f"Bearer {key}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
