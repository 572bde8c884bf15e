"""`mlk extension install`'s objects: golden for two option sets, upstream-valid, least privilege."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mlk.errors import UsageError
from mlk.render import ExtensionOptions, extension_manifests, helm_commands
from mlk.render.names import MAX_LABEL
from mlk.specs import load_spec
from tests.conftest import EXAMPLES, REPO
from tests.render.helpers import SYSTEM_IMAGE, assert_valid, check_golden

CERT = "-----BEGIN CERTIFICATE-----\nMIIBtestcertificate\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIBtestkey\n-----END PRIVATE KEY-----\n"
HTTPS_FILE = REPO / "tests" / "specs" / "valid" / "extension-config" / "inference-https.yml"


def _raw_keys(path: Any) -> set[str]:
    return set(yaml.safe_load(path.read_text()))


def loadbalancer_ha_gpu() -> ExtensionOptions:
    """LoadBalancer (internal, Azure), HTTPS from PEM contents, HA on a 5-node cluster, both GPU parts."""
    spec = load_spec(HTTPS_FILE, set_values=("internalLoadBalancerProvider=azure",))
    return ExtensionOptions.from_config(
        spec.data,
        given=_raw_keys(HTTPS_FILE),
        ssl_cert_pem=CERT,
        ssl_key_pem=KEY,
        system_image=SYSTEM_IMAGE,
        node_count=5,
    )


def clusterip_insecure_single_node() -> ExtensionOptions:
    """ClusterIP, plain HTTP, a 1-node cluster where HA was not asked for (Azure's fallback: 1 router)."""
    config = {"enableInference": True, "inferenceRouterServiceType": "clusterIP", "allowInsecureConnections": True}
    return ExtensionOptions.from_config(config, system_image=SYSTEM_IMAGE, node_count=1)


OPTION_SETS = {
    "loadbalancer-ha-gpu": loadbalancer_ha_gpu,
    "clusterip-insecure-single-node": clusterip_insecure_single_node,
}


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_golden(name: str) -> None:
    """CRDs appear as stubs: they are generated from schemas/ and checked by test_crds, not frozen here."""
    objects = extension_manifests(OPTION_SETS[name]())
    stubbed = [
        {"apiVersion": o["apiVersion"], "kind": o["kind"], "metadata": {"name": o["metadata"]["name"]}}
        if o["kind"] == "CustomResourceDefinition"
        else o
        for o in objects
    ]
    check_golden(f"extension-{name}", stubbed)


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_every_object_is_valid_for_three_kubernetes_versions(name: str) -> None:
    assert_valid(extension_manifests(OPTION_SETS[name]()))


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_deterministic_and_names_fit(name: str) -> None:
    first, second = extension_manifests(OPTION_SETS[name]()), extension_manifests(OPTION_SETS[name]())
    assert yaml.safe_dump_all(first) == yaml.safe_dump_all(second)
    for obj in first:
        assert len(obj["metadata"]["name"]) <= (253 if obj["kind"] == "CustomResourceDefinition" else MAX_LABEL)
        assert all(len(v) <= MAX_LABEL for v in obj["metadata"].get("labels", {}).values())


def test_apply_order() -> None:
    kinds = [o["kind"] for o in extension_manifests(loadbalancer_ha_gpu())]
    assert kinds == [
        "Namespace",
        *["CustomResourceDefinition"] * 3,
        *["ServiceAccount"] * 2,
        *["ClusterRole"] * 2,
        "Role",
        *["ClusterRoleBinding"] * 2,
        "RoleBinding",
        "Secret",
        "Deployment",
        "Deployment",
        "PodDisruptionBudget",
        "Service",
        "InstanceType",
        "DaemonSet",
        "DaemonSet",
        "Service",
    ]


def test_rbac_is_least_privilege() -> None:
    objects = extension_manifests(loadbalancer_ha_gpu())
    for role in _by_kind(objects, "ClusterRole"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (role["metadata"]["name"], rule)
            assert (
                "escalate" not in rule["verbs"] and "bind" not in rule["verbs"] and "impersonate" not in rule["verbs"]
            )
    for binding in _by_kind(objects, "ClusterRoleBinding"):
        assert binding["roleRef"]["name"] in {"mlk-operator", "mlk-router"}
    router = _one(objects, "ClusterRole", "mlk-router")
    for rule in router["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule  # the router only reads
    operator = {
        (g, r): rule["verbs"]
        for rule in _one(objects, "ClusterRole", "mlk-operator")["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert "update" in operator[("mlk.dev", "onlinedeployments/finalizers")]
    assert "patch" in operator[("mlk.dev", "onlineendpoints/status")]
    assert operator[("", "pods")] == ["get", "list", "watch"] and operator[("", "pods/log")] == ["get"]
    assert operator[("mlk.dev", "instancetypes")] == ["get", "list", "watch"]
    assert "create" in operator[("apps", "deployments")] and "create" in operator[("", "secrets")]


def test_ha_router_spreads_three_replicas_with_a_budget() -> None:
    objects = extension_manifests(loadbalancer_ha_gpu())
    router = _one(objects, "Deployment", "mlk-router")
    assert router["spec"]["replicas"] == 3
    assert router["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert _one(objects, "PodDisruptionBudget", "mlk-router")["spec"]["minAvailable"] == 1
    service = _one(objects, "Service", "mlk-router")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"] == {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    assert [p["port"] for p in service["spec"]["ports"]] == [443]
    container = router["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "mlk.router.cluster"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert router["spec"]["template"]["spec"]["nodeSelector"] == {"ml-node": "true"}
    secret = _one(objects, "Secret", "mlk-router-tls")
    assert secret["type"] == "kubernetes.io/tls" and set(secret["data"]) == {"tls.crt", "tls.key"}


def test_single_node_falls_back_to_one_router_without_a_budget() -> None:
    objects = extension_manifests(clusterip_insecure_single_node())
    assert _one(objects, "Deployment", "mlk-router")["spec"]["replicas"] == 1
    assert "affinity" not in _one(objects, "Deployment", "mlk-router")["spec"]["template"]["spec"]
    assert not _by_kind(objects, "PodDisruptionBudget") and not _by_kind(objects, "Secret")
    service = _one(objects, "Service", "mlk-router")
    assert service["spec"]["type"] == "ClusterIP" and [p["port"] for p in service["spec"]["ports"]] == [80]
    assert not _by_kind(objects, "DaemonSet")


@pytest.mark.parametrize(
    ("given", "value", "nodes", "replicas"),
    [
        ((), True, 2, 1),  # Azure's default on a small cluster: one replica
        ((), True, 3, 3),
        ((), True, None, 3),  # node count unknown: the default holds
        (("inferenceRouterHA",), True, 2, 3),  # asked for explicitly: kept
        (("inferenceLoadBalancerHA",), True, 1, 3),  # the old name counts as explicit too
        (("inferenceRouterHA",), False, 10, 1),
    ],
)
def test_ha_fallback(given: tuple[str, ...], value: bool, nodes: int | None, replicas: int) -> None:
    config = {"enableInference": True, "inferenceRouterServiceType": "NodePort", "allowInsecureConnections": True}
    options = ExtensionOptions.from_config({**config, "inferenceRouterHA": value}, given=given, node_count=nodes)
    assert options.router_replicas == replicas


def test_operator_deployment() -> None:
    objects = extension_manifests(loadbalancer_ha_gpu())
    operator = _one(objects, "Deployment", "mlk-operator")
    assert operator["spec"]["strategy"] == {"type": "Recreate"} and operator["spec"]["replicas"] == 1
    pod = operator["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == SYSTEM_IMAGE and container["command"] == ["python", "-m", "mlk.operator"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {t["key"] for t in pod["tolerations"]} == {
        "ml.azure.com/amlarc",
        "ml.azure.com/amlarc-workload",
        "ml.azure.com/resource-group",
        "ml.azure.com/workspace",
        "ml.azure.com/compute",
    }
    assert all(t["operator"] == "Exists" for t in pod["tolerations"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MLK_SCORING_HOST"] == "scoring.example.com" and env["MLK_SCORING_SCHEME"] == "https"


def test_gpu_parts_are_pinned() -> None:
    objects = extension_manifests(loadbalancer_ha_gpu())
    images = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in _by_kind(objects, "DaemonSet")
    }
    assert images == {
        "nvidia-device-plugin": "nvcr.io/nvidia/k8s-device-plugin:v0.20.1",
        "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.1-4.8.4-distroless",
    }
    assert _one(objects, "Service", "dcgm-exporter")["spec"]["ports"][0]["port"] == 9400
    labels = _one(objects, "Namespace", "mlk-system")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_default_instance_type_is_installed() -> None:
    (it,) = _by_kind(extension_manifests(clusterip_insecure_single_node()), "InstanceType")
    assert it["metadata"]["name"] == "defaultinstancetype"


def test_training_only_installs_the_operator_and_no_inference_components() -> None:
    options = ExtensionOptions.from_config(load_spec(EXAMPLES / "extension-config.yml").data, node_count=3)
    assert options.enable_inference and not options.ha  # the example sets inferenceRouterHA: "False"
    training = ExtensionOptions(enable_inference=False, enable_training=True)
    objects = extension_manifests(training)
    kinds = {o["kind"] for o in objects}
    assert kinds == {
        "Namespace",
        "CustomResourceDefinition",
        "InstanceType",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "PersistentVolumeClaim",
    }
    deployments = [o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"]
    assert deployments == ["mlk-operator", "mlk-tracking"]
    crds = {o["spec"]["names"]["kind"] for o in objects if o["kind"] == "CustomResourceDefinition"}
    assert "AmlJob" in crds
    assert not any("router" in o["metadata"]["name"] for o in objects)


def test_training_installs_mlflows_tracking_server_behind_its_auth() -> None:
    options = ExtensionOptions.from_config(
        {"enableTraining": True, "trackingImage": "registry.example/mlflow:3", "trackingStorageClass": "fast"},
        given=["enableTraining"],
    )
    objects = extension_manifests(options)
    server = _one(objects, "Deployment", "mlk-tracking")["spec"]["template"]["spec"]
    (container,) = server["containers"]
    assert container["image"] == "registry.example/mlflow:3"
    assert container["command"][:4] == ["mlflow", "server", "--app-name", "basic-auth"]
    command = " ".join(container["command"])
    assert "--backend-store-uri sqlite:////var/lib/mlflow/mlflow.db" in command
    assert "--artifacts-destination /var/lib/mlflow/artifacts" in command
    claim = _one(objects, "PersistentVolumeClaim", "mlk-tracking")
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "mlk-tracking"}} in server["volumes"]
    # the credentials are never rendered (the installer makes them once): only referenced
    assert not any(o["kind"] == "Secret" and o["metadata"]["name"] == "mlk-tracking-auth" for o in objects)
    assert {"secretName": "mlk-tracking-auth", "items": [{"key": "auth.ini", "path": "auth.ini"}]} in [
        v.get("secret") for v in server["volumes"]
    ]
    assert _one(objects, "Service", "mlk-tracking")["spec"]["ports"][0]["port"] == 5000
    inference_only = extension_manifests(ExtensionOptions(enable_inference=True, allow_insecure=True))
    assert not any(o["metadata"]["name"] == "mlk-tracking" for o in inference_only)


def test_the_tracking_auth_config_denies_by_default() -> None:
    from mlk.render.tracking import auth_secret_data

    data = auth_secret_data("pw", "flask")
    assert data["username"] == "mlk" and data["password"] == "pw"
    assert "default_permission = NO_PERMISSIONS" in data["auth.ini"]
    assert "admin_password = pw" in data["auth.ini"]


def test_helm_commands_are_pinned_and_follow_the_settings() -> None:
    both = ExtensionOptions(enable_training=True, allow_insecure=True)
    commands = helm_commands(both)
    assert commands[0] == "helm repo add volcano-sh https://volcano-sh.github.io/helm-charts --force-update"
    assert commands[1].startswith("helm upgrade --install volcano volcano-sh/volcano --version 1.13.0 ")
    assert "prometheus-community/kube-prometheus-stack --version " in commands[3]
    assert "kubeStateMetrics.enabled=true" in commands[3]
    assert helm_commands(ExtensionOptions(allow_insecure=True, install_prom_op=False)) == []  # no training: no Volcano
    no_volcano = ExtensionOptions(enable_training=True, install_volcano=False, allow_insecure=True)
    assert not any("volcano" in c for c in helm_commands(no_volcano))


def test_options_refuse_what_cannot_be_installed() -> None:
    with pytest.raises(UsageError, match="HTTPS needs"):
        ExtensionOptions()
    with pytest.raises(UsageError, match="go together"):
        ExtensionOptions(ssl_cert_pem=CERT)
    with pytest.raises(UsageError, match="namespace"):
        ExtensionOptions(allow_insecure=True, namespace="Not_Valid")
    with pytest.raises(UsageError, match="contents were not read"):
        ExtensionOptions.from_config(load_spec(HTTPS_FILE).data)
    assert "MIIB" not in repr(loadbalancer_ha_gpu())  # PEM contents stay out of logs


def test_user_ssl_secret_is_mounted_with_azures_key_names() -> None:
    options = ExtensionOptions(ssl_secret="my-cert", ssl_cname="x.example.com")
    objects = extension_manifests(options)
    assert not _by_kind(objects, "Secret")
    volumes = _one(objects, "Deployment", "mlk-router")["spec"]["template"]["spec"]["volumes"]
    (tls,) = [v for v in volumes if v["name"] == "tls"]
    assert tls["secret"]["secretName"] == "my-cert"
    assert [i["key"] for i in tls["secret"]["items"]] == ["cert.pem", "key.pem"]
    assert_valid(objects)
