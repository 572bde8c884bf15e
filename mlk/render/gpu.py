"""The optional GPU components: NVIDIA's device plugin and DCGM exporter, pinned, in their upstream shape.

Written by us after NVIDIA's published manifests (nvidia-device-plugin.yml, dcgm-exporter.yaml) rather
than fetched, so an install needs no network beyond the image pulls and renders the same every time.
Both tolerate GPU nodes' `nvidia.com/gpu` taint and Azure's taints, and follow the nodeSelector settings.
The device plugin advertises `nvidia.com/gpu` to the kubelet; it needs a hostPath to the kubelet's
device-plugin socket. The exporter serves GPU metrics on :9400 for Prometheus; it needs SYS_ADMIN and the
kubelet's pod-resources socket to map GPUs to pods. Their namespace is labelled `privileged` for this.
"""

from __future__ import annotations

from typing import Any

from mlk.render import names
from mlk.render.objects import azure_tolerations, meta
from mlk.render.options import ExtensionOptions

DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"
DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04"
DCGM_PORT = 9400
_GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def _labels(name: str, version: str) -> dict[str, str]:
    return {**names.base_labels("gpu"), names.LABEL_NAME: name, "app.kubernetes.io/version": version}


def _pod(options: ExtensionOptions, spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {**spec, "tolerations": [_GPU_TOLERATION, *azure_tolerations()]}
    if options.node_selector:
        out["nodeSelector"] = dict(sorted(options.node_selector.items()))
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
    return _daemonset(options, "nvidia-device-plugin", "v0.17.0", pod)


def dcgm_exporter(options: ExtensionOptions) -> list[dict[str, Any]]:
    """The exporter's DaemonSet and the Service Prometheus scrapes."""
    name, version = "dcgm-exporter", "3.3.9"
    pod = {
        "containers": [
            {
                "name": name,
                "image": DCGM_EXPORTER_IMAGE,
                "env": [
                    {"name": "DCGM_EXPORTER_LISTEN", "value": f":{DCGM_PORT}"},
                    {"name": "DCGM_EXPORTER_KUBERNETES", "value": "true"},
                ],
                "ports": [{"name": "metrics", "containerPort": DCGM_PORT}],
                "securityContext": {"runAsNonRoot": False, "runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}},
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
