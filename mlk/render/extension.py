"""`mlk extension install`: every object the extension puts in a cluster, in apply order, plus Helm steps.

Order: the Namespace; the CRDs (AmlJob's too with enableTraining; the caller waits for them to be
Established before the InstanceType below); ServiceAccounts, ClusterRoles and bindings; the router's TLS
Secret; the operator and the router (Deployment, PodDisruptionBudget, Service); with enableTraining the
MLflow tracking server (mlk.render.tracking); the `defaultinstancetype`; the optional GPU DaemonSets.
The inference components appear only with enableInference (training alone needs Volcano, from Helm).

Volcano and kube-prometheus-stack are large, versioned upstream charts: mlk does not re-render them but
runs their pinned Helm charts (`helm_commands`), as Azure's extension bundles them.

`monitoring_manifests` are apart: ServiceMonitors for the routers and the DCGM exporter, kinds of the
Prometheus operator's CRDs, which exist only once kube-prometheus-stack is installed. The caller applies
them last, after `helm_commands` have run, and only when the cluster serves monitoring.coreos.com/v1
ServiceMonitor; without it (helm not on PATH, the chart not yet installed) they are left out with a
note, never failing the install. Being in the extension's namespace, they go when it is deleted.
"""

from __future__ import annotations

import shlex
from typing import Any

from mlk.render import gpu, names, rbac, system, tracking
from mlk.render.crds import crds, job_crd
from mlk.render.crs import default_instance_type, instance_type_cr
from mlk.render.options import PROMETHEUS_RELEASE, ExtensionOptions

VOLCANO_REPO = ("volcano-sh", "https://volcano-sh.github.io/helm-charts")
VOLCANO_CHART_VERSION = "1.13.0"
VOLCANO_NAMESPACE = "volcano-system"
PROMETHEUS_REPO = ("prometheus-community", "https://prometheus-community.github.io/helm-charts")
PROMETHEUS_CHART_VERSION = "83.6.0"
PROMETHEUS_NAMESPACE = "mlk-monitoring"
"""Its own namespace: node-exporter needs host access, which the extension's `restricted` namespace refuses."""

__all__ = [
    "PROMETHEUS_RELEASE",
    "ExtensionOptions",
    "extension_manifests",
    "helm_commands",
    "monitoring_manifests",
    "namespace",
]


def namespace(options: ExtensionOptions) -> dict[str, Any]:
    """The extension's namespace. Pod Security `restricted` fits the operator and router; the GPU
    DaemonSets need host paths (and the exporter SYS_ADMIN), hence `privileged` when they are installed."""
    gpu_parts = options.install_nvidia_device_plugin or options.install_dcgm_exporter
    level = "privileged" if gpu_parts else "restricted"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": options.namespace,
            "labels": {**names.base_labels("extension"), "pod-security.kubernetes.io/enforce": level},
        },
    }


def extension_manifests(options: ExtensionOptions) -> list[dict[str, Any]]:
    """Every object of the extension, in the order to apply them."""
    objects: list[dict[str, Any] | None] = [namespace(options), *crds()]
    if options.enable_training:
        objects.append(job_crd())
    if options.enable_inference:
        objects += [
            *rbac.service_accounts(options),
            *rbac.rbac(options),
            system.router_tls_secret(options),
            system.operator_deployment(options),
            system.router_deployment(options),
            system.router_pdb(options),
            system.router_service(options),
        ]
    elif options.enable_training:  # the operator runs the job controller; nothing of inference comes along
        objects += [*rbac.service_accounts(options), *rbac.rbac(options), system.operator_deployment(options)]
    if options.enable_training:  # its Secret is the installer's (kube.extension.ensure_tracking_secret)
        objects += tracking.tracking_objects(options)
    objects.append(instance_type_cr(default_instance_type()))
    if options.install_nvidia_device_plugin:
        objects.append(gpu.nvidia_device_plugin(options))
    if options.install_dcgm_exporter:
        objects += gpu.dcgm_exporter(options)
    return [o for o in objects if o is not None]


def monitoring_manifests(options: ExtensionOptions) -> list[dict[str, Any]]:
    """ServiceMonitors so that Prometheus scrapes what mlk installs: the routers (with inference) and the
    DCGM exporter (installDcgmExporter); none without a Prometheus operator (installPromOp=False and no
    prometheusRelease). Apply them after `helm_commands` and only if the ServiceMonitor CRD exists."""
    if options.monitoring_release is None:
        return []
    objects: list[dict[str, Any] | None] = []
    if options.enable_inference:
        objects.append(system.router_service_monitor(options))
    if options.install_dcgm_exporter:
        objects.append(gpu.dcgm_service_monitor(options))
    return [o for o in objects if o is not None]


def helm_commands(options: ExtensionOptions) -> list[str]:
    """The `helm` command lines for the components mlk takes from upstream charts, pinned, idempotent."""
    commands: list[list[str]] = []
    if options.enable_training and options.install_volcano:
        commands += [
            ["helm", "repo", "add", *VOLCANO_REPO, "--force-update"],
            [
                *("helm", "upgrade", "--install", "volcano", f"{VOLCANO_REPO[0]}/volcano"),
                *("--version", VOLCANO_CHART_VERSION, "--namespace", VOLCANO_NAMESPACE, "--create-namespace", "--wait"),
            ],
        ]
    if options.install_prom_op:
        state_metrics = "true" if options.install_kube_state_metrics else "false"
        commands += [
            ["helm", "repo", "add", *PROMETHEUS_REPO, "--force-update"],
            [
                *("helm", "upgrade", "--install", PROMETHEUS_RELEASE, f"{PROMETHEUS_REPO[0]}/kube-prometheus-stack"),
                *("--version", PROMETHEUS_CHART_VERSION, "--namespace", PROMETHEUS_NAMESPACE, "--create-namespace"),
                "--wait",
                *("--set", "grafana.enabled=false", "--set", "alertmanager.enabled=false"),
                *("--set", f"kubeStateMetrics.enabled={state_metrics}"),
            ],
        ]
    return [shlex.join(c) for c in commands]
