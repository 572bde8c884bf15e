"""`mlk extension` and `mlk compute attach` against the real control plane: az k8s-extension's settings
and their errors, --dry-run and --output-dir applying nothing, install/show/update/delete (CRDs and
custom resources gone, none stuck Terminating; installing again works), attach's checks.

Each test starts with no extension installed and leaves none behind (the session's cluster is shared)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, Result, run_mlk
from tests.controlplane.fixture import ControlPlane

pytestmark = pytest.mark.slow

BASIC = ["enableInference=True", "inferenceRouterServiceType=LoadBalancer", "allowInsecureConnections=True"]


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, control_plane: ControlPlane) -> Iterator[ControlPlane]:
    monkeypatch.setenv("MLK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    assert crds(control_plane) == [], "an earlier test left the extension installed"
    yield control_plane
    run_mlk("extension", "delete", "--yes", "--force")
    for namespace in ("ml", "azureml-workloads"):
        control_plane.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=true", check=False)


def mlk(*args: str) -> Result:
    return run_mlk(*args)


def crds(cluster: ControlPlane) -> list[str]:
    """mlk's CRDs, those being deleted too (a CRD stuck Terminating is still there)."""
    found = cluster.kubectl("get", "crd", "-o", "name").stdout.split()
    return sorted(n.split("/", 1)[1] for n in found if n.endswith(".mlk.dev"))


def test_dry_run_prints_every_manifest_and_applies_nothing(cluster: ControlPlane) -> None:
    result = mlk("extension", "install", "--config", *BASIC, "--dry-run")
    assert result.exit_code == 0, result.stderr
    objects = [o for o in yaml.safe_load_all(result.stdout) if o]
    kinds = {o["kind"] for o in objects}
    assert {"CustomResourceDefinition", "Deployment", "Service", "ClusterRole", "InstanceType"} <= kinds
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "mlk-router")
    assert service["spec"]["type"] == "LoadBalancer"
    assert crds(cluster) == []  # nothing reached the cluster


def test_output_dir_writes_one_file_per_object(cluster: ControlPlane, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    result = mlk("extension", "install", "--config", *BASIC, "installNvidiaDevicePlugin=True", "--output-dir", str(out))
    assert result.exit_code == 0, result.stderr
    files = sorted(out.glob("*.yaml"))
    assert len(files) > 10
    assert any("nvidia" in f.name for f in files)
    assert all(len([d for d in yaml.safe_load_all(f.read_text()) if d]) == 1 for f in files)
    assert crds(cluster) == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["enableInference=True", "inferenceRouterServiceType=Foo", "allowInsecureConnections=True"], "Foo"),
        (["enableInference=True", "inferenceRouterServiceType=LoadBalancer"], "ssl"),
        (["enableInference=False", "enableTraining=False"], "enable"),
        (["enableInference=True", "enableInference=False"], "twice"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(
    cluster: ControlPlane, settings: list[str], message: str
) -> None:
    result = mlk("extension", "install", "--config", *settings)
    assert result.exit_code != 0
    assert message.lower() in result.stderr.lower(), result.stderr
    assert crds(cluster) == []


def test_install_show_update_delete(cluster: ControlPlane) -> None:
    installed = mlk("extension", "install", "--config", *BASIC, "-o", "json")
    assert installed.exit_code == 0, installed.stderr
    assert {"onlineendpoints.mlk.dev", "onlinedeployments.mlk.dev", "instancetypes.mlk.dev"} <= set(crds(cluster))
    assert "defaultinstancetype" in [i["metadata"]["name"] for i in cluster.objects("instancetypes.mlk.dev")]
    routers = cluster.objects("deployments.apps", "mlk-system")
    assert sorted(d["metadata"]["name"] for d in routers) == ["mlk-operator", "mlk-router"]
    router = next(d for d in routers if d["metadata"]["name"] == "mlk-router")
    assert router["spec"]["replicas"] == 1  # inferenceRouterHA on a 1-node cluster falls back to 1

    shown = mlk("extension", "show", "-o", "json")
    assert shown.exit_code == 0, shown.stderr
    assert "inferenceRouterServiceType=LoadBalancer" in shown.stderr
    assert all(row["ready"] for row in json.loads(shown.stdout))

    updated = mlk("extension", "update", "--config", "inferenceRouterServiceType=NodePort", "--yes")
    assert updated.exit_code == 0, updated.stderr
    service = next(s for s in cluster.objects("services", "mlk-system") if s["metadata"]["name"] == "mlk-router")
    assert service["spec"]["type"] == "NodePort"
    again = mlk("extension", "show")
    assert "allowInsecureConnections=True" in again.stderr  # settings not given were kept

    attached = mlk("compute", "attach", "--type", "Kubernetes", "-n", "k8s", "--namespace", "ml", "--create-namespace")
    assert attached.exit_code == 0, attached.stderr
    created = mlk(
        "online-endpoint", "create", "-f", str(EXAMPLES / "endpoint.yml"), "--set", "compute=azureml:k8s", "--no-wait"
    )
    assert created.exit_code == 0, created.stderr
    in_use = mlk("compute", "detach", "-n", "k8s", "--yes")
    assert in_use.exit_code != 0 and "my-endpoint" in in_use.stderr
    refused = mlk("extension", "delete", "--yes")
    assert refused.exit_code != 0 and "my-endpoint" in refused.stderr
    assert "onlineendpoints.mlk.dev" in crds(cluster)

    forced = mlk("extension", "delete", "--yes", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert crds(cluster) == []  # none left Terminating behind a finalizer nobody will release
    assert cluster.objects("deployments.apps", "mlk-system") == []
    again = mlk("extension", "install", "--config", *BASIC)
    assert again.exit_code == 0, again.stderr
    assert "onlineendpoints.mlk.dev" in crds(cluster)


def test_attach_needs_the_extension_and_a_compute_file_works(cluster: ControlPlane, tmp_path: Path) -> None:
    missing = mlk("compute", "attach", "-f", str(EXAMPLES / "compute.yml"), "--create-namespace")
    assert missing.exit_code != 0 and "extension install" in missing.stderr
    assert mlk("extension", "install", "--config", *BASIC).exit_code == 0
    attached = mlk("compute", "attach", "-f", str(EXAMPLES / "compute.yml"), "--create-namespace", "-o", "json")
    assert attached.exit_code == 0, attached.stderr
    record = json.loads(attached.stdout)
    assert record["name"] == "k8s-compute" and record["namespace"] == "azureml-workloads"
    assert "azureml-workloads" in [n["metadata"]["name"] for n in cluster.objects("namespaces")]
    shown = json.loads(mlk("compute", "show", "-n", "k8s-compute", "-o", "json").stdout)
    assert shown["kubernetes_version"] == "1.37"
    assert mlk("compute", "detach", "-n", "k8s-compute", "--yes").exit_code == 0
    assert mlk("compute", "show", "-n", "k8s-compute").exit_code != 0


def test_update_keeps_what_install_chose(cluster: ControlPlane) -> None:
    installed = mlk("extension", "install", "--config", *BASIC, "inferenceRouterHA=False", "--system-image", "mlk:mine")
    assert installed.exit_code == 0, installed.stderr
    updated = mlk("extension", "update", "--config", "inferenceRouterServiceType=NodePort", "--yes")
    assert updated.exit_code == 0, updated.stderr
    deployments = cluster.objects("deployments.apps", "mlk-system")
    images = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"] for d in deployments}
    assert images == {"mlk-operator": "mlk:mine", "mlk-router": "mlk:mine"}  # not a default nobody publishes
    record = next(c for c in cluster.objects("configmaps", "mlk-system") if c["metadata"]["name"] == "mlk-extension")
    typed = json.loads(record["data"]["given.json"])
    assert typed["inferenceRouterHA"] is False and typed["inferenceRouterServiceType"] == "NodePort"
    assert set(typed) == {
        "enableInference",
        "inferenceRouterServiceType",
        "allowInsecureConnections",
        "inferenceRouterHA",
    }
    resolved = json.loads(record["data"]["settings.json"])
    assert len(resolved) > len(typed)  # defaults are resolved, and kept apart from what was typed


def test_the_scoring_uri_follows_a_load_balancer_address_that_arrives_later(cluster: ControlPlane) -> None:
    clusterip = ["enableInference=True", "inferenceRouterServiceType=ClusterIP", "allowInsecureConnections=True"]
    assert mlk("extension", "install", "--config", *clusterip).exit_code == 0
    assert mlk("compute", "attach", "--type", "Kubernetes", "-n", "k8s", "--namespace", "ml", "--create-namespace")
    created = mlk("online-endpoint", "create", "-f", str(EXAMPLES / "endpoint.yml"), "--set", "compute=azureml:k8s")
    assert created.exit_code == 0, created.stderr
    shown = json.loads(mlk("online-endpoint", "show", "-n", "my-endpoint", "-o", "json").stdout)
    assert "127.213." not in shown["scoring_uri"]  # a ClusterIP router: no outside address yet
    updated = mlk("extension", "update", "--config", "inferenceRouterServiceType=LoadBalancer", "--yes")
    assert updated.exit_code == 0, updated.stderr

    def address() -> str | None:
        router = next(s for s in cluster.objects("services", "mlk-system") if s["metadata"]["name"] == "mlk-router")
        ingress = ((router.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return ingress[0].get("ip") if ingress else None

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ip = address()
        uri = json.loads(mlk("online-endpoint", "show", "-n", "my-endpoint", "-o", "json").stdout)["scoring_uri"]
        if ip and uri == f"http://{ip}/api/v1/endpoint/my-endpoint/score":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"scoring URI {uri} did not follow the LoadBalancer address {ip}")
    assert mlk("online-endpoint", "delete", "-n", "my-endpoint", "--yes").exit_code == 0
