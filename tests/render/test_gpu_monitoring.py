"""GPU DaemonSets placed on GPU nodes (gpuNodeSelector, apart from nodeSelector) and the ServiceMonitors that
have what mlk installs scraped when a Prometheus operator is there (installPromOp or prometheusRelease)."""

from __future__ import annotations

from typing import Any

import pytest

from mlk.errors import UsageError
from mlk.render import ExtensionOptions, extension_manifests
from mlk.render.crdcheck import structural_problems
from mlk.render.extension import PROMETHEUS_RELEASE, monitoring_manifests
from tests.render.helpers import SYSTEM_IMAGE, assert_valid, check_golden
from tests.render.prometheus_crd import SERVICE_MONITOR_CRD
from tests.render.test_extension import loadbalancer_ha_gpu

INSECURE = {"enableInference": True, "inferenceRouterServiceType": "ClusterIP", "allowInsecureConnections": True}
GPU = {"installNvidiaDevicePlugin": True, "installDcgmExporter": True}


def _options(**config: Any) -> ExtensionOptions:
    return ExtensionOptions.from_config({**INSECURE, **config}, system_image=SYSTEM_IMAGE, node_count=3)


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def _gpu_terms(objects: list[dict[str, Any]]) -> list[Any]:
    """The required node-selector terms of each GPU DaemonSet (None for one without affinity)."""
    daemonsets = _by_kind(objects, "DaemonSet")
    assert set(daemonsets) == {"nvidia-device-plugin", "dcgm-exporter"}
    found = []
    for daemonset in daemonsets.values():
        affinity = _pod(daemonset).get("affinity")
        found.append(
            affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            if affinity
            else None
        )
    return found


def test_gpu_daemonsets_require_gpu_nodes_and_ignore_the_operators_node_selector() -> None:
    """The fixture sets nodeSelector.ml-node=true: it places the operator and router, not the GPU parts."""
    objects = extension_manifests(loadbalancer_ha_gpu())
    expected = [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}]
    assert _gpu_terms(objects) == [expected, expected]
    for daemonset in _by_kind(objects, "DaemonSet").values():
        pod = _pod(daemonset)
        assert "nodeSelector" not in pod
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
        assert {"key": "ml.azure.com/amlarc", "operator": "Exists"} in pod["tolerations"]
    for deployment in _by_kind(objects, "Deployment").values():
        assert _pod(deployment)["nodeSelector"] == {"ml-node": "true"}
        assert "nodeAffinity" not in _pod(deployment).get("affinity", {})


@pytest.mark.parametrize(
    ("setting", "expression"),
    [
        ("kubernetes.azure.com/accelerator=nvidia", {"operator": "In", "values": ["nvidia"]}),
        ("accelerator", {"operator": "Exists"}),  # any value
        ("", None),  # every node
    ],
)
def test_gpu_node_selector_is_configurable(setting: str, expression: dict[str, Any] | None) -> None:
    key = setting.partition("=")[0]
    terms = [{"matchExpressions": [{"key": key, **expression}]}] if expression else None
    objects = extension_manifests(_options(**GPU, gpuNodeSelector=setting, **{"nodeSelector.pool": "system"}))
    assert _gpu_terms(objects) == [terms, terms]
    assert all("nodeSelector" not in _pod(d) for d in _by_kind(objects, "DaemonSet").values())
    assert_valid(objects)


@pytest.mark.parametrize("setting", ["bad key", "nvidia.com/gpu.present=not valid", "/x", "a=b=c"])
def test_a_malformed_gpu_node_selector_is_refused(setting: str) -> None:
    with pytest.raises(UsageError, match="gpuNodeSelector"):
        _options(**GPU, gpuNodeSelector=setting)


def test_gpu_images_are_current_upstream_releases() -> None:
    pods = {name: _pod(d) for name, d in _by_kind(extension_manifests(_options(**GPU)), "DaemonSet").items()}
    assert pods["nvidia-device-plugin"]["containers"][0]["image"] == "nvcr.io/nvidia/k8s-device-plugin:v0.20.1"
    exporter = pods["dcgm-exporter"]
    assert exporter["containers"][0]["image"] == "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.1-4.8.4-distroless"
    assert exporter["automountServiceAccountToken"] is False  # it reads the kubelet's socket, not the API


# --- ServiceMonitors --------------------------------------------------------------------------------------


def test_the_service_monitor_stand_in_is_a_structural_crd() -> None:
    (version,) = SERVICE_MONITOR_CRD["spec"]["versions"]
    assert structural_problems(version["schema"]["openAPIV3Schema"]) == []


def test_monitors_with_the_extensions_prometheus_are_labelled_for_its_selector() -> None:
    options = loadbalancer_ha_gpu()  # installPromOp defaults to True, as Azure's
    monitors = monitoring_manifests(options)
    assert [(m["kind"], m["metadata"]["name"]) for m in monitors] == [
        ("ServiceMonitor", "mlk-router"),
        ("ServiceMonitor", "dcgm-exporter"),
    ]
    assert all(m["metadata"]["labels"]["release"] == PROMETHEUS_RELEASE for m in monitors)
    assert all(m["metadata"]["namespace"] == "mlk-system" for m in monitors)
    assert_valid(monitors)
    check_golden("extension-monitoring", monitors)


def test_monitors_are_not_in_what_is_applied_before_helm() -> None:
    """Their CRD comes with kube-prometheus-stack: applying them with the rest would fail a first install."""
    objects = extension_manifests(loadbalancer_ha_gpu())
    assert not [o for o in objects if o["apiVersion"].startswith("monitoring.coreos.com/")]


@pytest.mark.parametrize(
    ("options", "scheme"),
    [(loadbalancer_ha_gpu, "https"), (lambda: _options(**GPU), "http")],
    ids=["https", "http"],
)
def test_monitors_select_the_services_they_scrape(options: Any, scheme: str) -> None:
    """Each monitor's selector matches its Service's labels, and its endpoint names one of that Service's ports."""
    chosen = options()
    services = _by_kind(extension_manifests(chosen), "Service")
    monitors = monitoring_manifests(chosen)
    assert monitors
    for monitor in monitors:
        matched = [
            s
            for s in services.values()
            if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
            and s["metadata"]["namespace"] in monitor["spec"]["namespaceSelector"]["matchNames"]
        ]
        assert [s["metadata"]["name"] for s in matched] == [monitor["metadata"]["name"]]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in matched[0]["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"
    router = _by_kind(monitors, "ServiceMonitor")["mlk-router"]["spec"]["endpoints"][0]
    assert router["scheme"] == scheme and router["port"] == scheme
    assert ("tlsConfig" in router) == (scheme == "https")


def test_monitors_only_when_a_prometheus_operator_is_there() -> None:
    assert monitoring_manifests(_options(**GPU, installPromOp=False)) == []
    only_router = monitoring_manifests(_options())  # no DCGM exporter: the routers' monitor alone
    assert [m["metadata"]["name"] for m in only_router] == ["mlk-router"]
    training = ExtensionOptions(enable_inference=False, enable_training=True, install_dcgm_exporter=True)
    assert [m["metadata"]["name"] for m in monitoring_manifests(training)] == ["dcgm-exporter"]


def test_an_existing_prometheus_is_named_by_its_release() -> None:
    options = _options(**GPU, installPromOp=False, prometheusRelease="kube-prometheus-stack")
    monitors = monitoring_manifests(options)
    assert {m["metadata"]["labels"]["release"] for m in monitors} == {"kube-prometheus-stack"}
    assert len(monitors) == 2
    assert_valid(monitors)


def test_prometheus_release_needs_install_prom_op_off_and_a_valid_name() -> None:
    with pytest.raises(UsageError, match="installPromOp"):
        _options(prometheusRelease="kube-prometheus-stack")  # installPromOp's default: mlk installs its own
    with pytest.raises(UsageError, match="label value"):
        ExtensionOptions(allow_insecure=True, install_prom_op=False, prometheus_release="not/valid")
