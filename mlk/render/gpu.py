"""The optional GPU components: NVIDIA's device plugin and DCGM exporter, pinned, in their upstream shape.

Written by us after NVIDIA's published manifests (nvidia-device-plugin.yml, dcgm-exporter.yaml) rather
than fetched, so an install needs no network beyond the image pulls and renders the same every time.
They run on GPU nodes only: a required node affinity on the gpuNodeSelector label (default
`nvidia.com/gpu.present=true`, set by NVIDIA's GPU feature discovery), never on the operator's and
router's nodeSelector, which places mlk's own pods. Both tolerate GPU nodes' `nvidia.com/gpu` NoSchedule
taint and Azure's taints. The device plugin advertises `nvidia.com/gpu` to the kubelet; it needs a
hostPath to the kubelet's device-plugin socket. The exporter serves GPU metrics on :9400 for Prometheus
(a ServiceMonitor when the Prometheus operator is there); it needs SYS_ADMIN and the kubelet's
pod-resources socket to map GPUs to pods. Their namespace is labelled `privileged` for this.
"""

from __future__ import annotations

from typing import Any

from mlk.render import names
from mlk.render.objects import azure_tolerations, meta
from mlk.render.options import ExtensionOptions
from mlk.render.system import service_monitor

# Upstream releases, checked 2026-12-06 (the newest either project had published by then, as far as found):
# - device plugin v0.20.1: NVIDIA/k8s-device-plugin PR #2057 "update k8s-device-plugin to 0.20.1" (merged
#   2026-09-22), the image GPU operator v26.7.1 deploys (NVIDIA/aicr's image list);
# - DCGM exporter 4.8.4 on DCGM 4.6.1: NVIDIA/dcgm-exporter deployment/examples/dcgm-exporter.yaml. Only
#   `-distroless` images are published since 4.5.3-4.8.2 (NVIDIA/dcgm-exporter issue #703): no ubuntu22.04 tag.
DEVICE_PLUGIN_VERSION = "v0.20.1"
DEVICE_PLUGIN_IMAGE = f"nvcr.io/nvidia/k8s-device-plugin:{DEVICE_PLUGIN_VERSION}"
DCGM_EXPORTER_VERSION = "4.8.4"
DCGM_EXPORTER_IMAGE = f"nvcr.io/nvidia/k8s/dcgm-exporter:4.6.1-{DCGM_EXPORTER_VERSION}-distroless"
DCGM_PORT = 9400
DCGM_SCRAPE_INTERVAL = "15s"
"""The exporter's own chart scrapes every 15 s (DCGM samples at that pace)."""
_GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def _labels(name: str, version: str) -> dict[str, str]:
    return {**names.base_labels("gpu"), names.LABEL_NAME: name, "app.kubernetes.io/version": version}


def gpu_node_affinity(options: ExtensionOptions) -> dict[str, Any] | None:
    """Required node affinity on the gpuNodeSelector label; None when it is empty (every node)."""
    label = options.gpu_node_label
    if label is None:
        return None
    key, value = label
    expression = (
        {"key": key, "operator": "Exists"} if value is None else {"key": key, "operator": "In", "values": [value]}
    )
    terms = [{"matchExpressions": [expression]}]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def _pod(options: ExtensionOptions, spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {**spec, "tolerations": [_GPU_TOLERATION, *azure_tolerations()]}
    affinity = gpu_node_affinity(options)
    if affinity:
        out["affinity"] = affinity
    return out


def _daemonset(options: ExtensionOptions, name: str, version: str, pod: dict[str, Any]) -> dict[str, Any]:
    selector = {names.LABEL_NAME: name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta(name, options.namespace, labels=_labels(name, version)),
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": _labels(name, version)}, "spec": _pod(options, pod)},
        },
    }


def nvidia_device_plugin(options: ExtensionOptions) -> dict[str, Any]:
    pod = {
        "priorityClassName": "system-node-critical",
        "containers": [
            {
                "name": "nvidia-device-plugin-ctr",
                "image": DEVICE_PLUGIN_IMAGE,
                "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}],
            }
        ],
        "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}],
    }
    return _daemonset(options, "nvidia-device-plugin", DEVICE_PLUGIN_VERSION, pod)


def dcgm_exporter(options: ExtensionOptions) -> list[dict[str, Any]]:
    """The exporter's DaemonSet and the Service Prometheus scrapes."""
    name, version = "dcgm-exporter", DCGM_EXPORTER_VERSION
    pod = {
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": name,
                "image": DCGM_EXPORTER_IMAGE,
                "env": [
                    {"name": "DCGM_EXPORTER_LISTEN", "value": f":{DCGM_PORT}"},
                    {"name": "DCGM_EXPORTER_KUBERNETES", "value": "true"},
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                ],
                "ports": [{"name": "metrics", "containerPort": DCGM_PORT}],
                "securityContext": {
                    "runAsNonRoot": False,
                    "runAsUser": 0,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]},  # SYS_ADMIN: profiling metrics
                },
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "200m", "memory": "256Mi"},
                },
                "volumeMounts": [
                    {"name": "pod-gpu-resources", "mountPath": "/var/lib/kubelet/pod-resources", "readOnly": True}
                ],
            }
        ],
        "volumes": [{"name": "pod-gpu-resources", "hostPath": {"path": "/var/lib/kubelet/pod-resources"}}],
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, options.namespace, labels=_labels(name, version)),
        "spec": {
            "type": "ClusterIP",
            "selector": {names.LABEL_NAME: name},
            "ports": [{"name": "metrics", "port": DCGM_PORT, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }
    return [_daemonset(options, name, version, pod), service]


def dcgm_service_monitor(options: ExtensionOptions) -> dict[str, Any] | None:
    """The exporter's ServiceMonitor (its Service's `metrics` port); None without a Prometheus operator."""
    name = "dcgm-exporter"
    endpoint = {"port": "metrics", "interval": DCGM_SCRAPE_INTERVAL}
    return service_monitor(options, name, _labels(name, DCGM_EXPORTER_VERSION), endpoint)
