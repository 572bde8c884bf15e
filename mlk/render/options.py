"""The extension's settings: Azure's `--config` names, resolved, plus what only mlk needs to know.

Render is pure, so the PEM files that `sslCertPemFile`/`sslKeyPemFile` name are read by the caller and
their *contents* come in here. Whether `inferenceRouterHA` was typed by the user or is Azure's default
matters on small clusters (the default falls back to one router replica below 3 nodes); resolved
settings cannot tell, so the caller passes the setting names the user gave.

Placement is in two parts: `nodeSelector.*` (Azure's) places mlk's operator and router; `gpuNodeSelector`
(mlk's own, Azure has none) places the NVIDIA device plugin and DCGM exporter, which belong on GPU nodes
whatever the operator's placement. `prometheusRelease` (mlk's own) names a kube-prometheus-stack the
cluster already has, so that mlk's ServiceMonitors are picked up without installPromOp.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import mlk
from mlk.errors import UsageError
from mlk.render import names

DEFAULT_NAMESPACE = "mlk-system"
SYSTEM_REPOSITORY = "ghcr.io/mlk-dev/mlk"
TRACKING_REPOSITORY = "ghcr.io/mlk-dev/mlk-tracking"
SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
HA_MIN_NODES = 3
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HA_SETTINGS = ("inferenceRouterHA", "inferenceLoadBalancerHA")
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")
GPU_NODE_SELECTOR = "nvidia.com/gpu.present=true"
"""gpuNodeSelector's default: the label NVIDIA's GPU feature discovery (alone or in the GPU operator) puts on
nodes with an NVIDIA GPU. Clusters without it label their GPU nodes so, or name their own label."""
PROMETHEUS_RELEASE = "mlk-prometheus"
"""The Helm release of the kube-prometheus-stack that installPromOp installs; its Prometheus selects the
ServiceMonitors labelled `release: <release>` (the chart's default selector)."""


def parse_node_label(text: str, setting: str) -> tuple[str, str | None] | None:
    """`key=value` → (key, value); `key` → (key, None): any value; '' → None: no restriction."""
    if not text:
        return None
    key, sep, value = text.partition("=")
    if not _LABEL_KEY.match(key) or (sep and not _LABEL_VALUE.match(value)):
        raise UsageError(
            f"{setting} '{text}' is not a node label",
            hint=f"KEY=VALUE or KEY (any value), e.g. {GPU_NODE_SELECTOR}; empty for every node",
        )
    return key, value if sep else None


def default_system_image() -> str:
    """mlk's own image (operator, router, storage-initializer), tagged with this mlk's version."""
    return f"{SYSTEM_REPOSITORY}:{mlk.__version__}"


def default_tracking_image() -> str:
    """The MLflow tracking server's image, as `mlk extension build-image` tags it."""
    return f"{TRACKING_REPOSITORY}:{mlk.__version__}"


@dataclass(frozen=True)
class ExtensionOptions:
    """Everything `extension_manifests` and `helm_commands` need; build it with `from_config`."""

    enable_inference: bool = True
    enable_training: bool = False
    router_service_type: str = "LoadBalancer"
    """LoadBalancer, NodePort or ClusterIP (inferenceRouterServiceType)."""
    allow_insecure: bool = False
    """Serve plain HTTP on port 80 (allowInsecureConnections)."""
    ssl_secret: str | None = None
    """An existing Secret in the namespace with cert.pem and key.pem (sslSecret)."""
    ssl_cname: str | None = None
    """The host name the certificate is for; the scoring URI's host (sslCname)."""
    ssl_cert_pem: str | None = field(default=None, repr=False)
    """Contents of sslCertPemFile."""
    ssl_key_pem: str | None = field(default=None, repr=False)
    """Contents of sslKeyPemFile (a private key: kept out of repr)."""
    router_ha: bool | None = None
    """inferenceRouterHA as the user set it; None: Azure's default (HA unless the cluster is small)."""
    internal_load_balancer: str | None = None
    """internalLoadBalancerProvider: `azure` makes the router's LoadBalancer internal."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """nodeSelector.<key>=<value> settings: where mlk's operator and router run (not the GPU DaemonSets)."""
    install_nvidia_device_plugin: bool = False
    install_dcgm_exporter: bool = False
    install_prom_op: bool = True
    install_volcano: bool = True
    install_kube_state_metrics: bool = True
    gpu_node_selector: str = GPU_NODE_SELECTOR
    """gpuNodeSelector: `key=value` (or `key`: any value) of the label the GPU DaemonSets require of a node;
    empty: every node. Separate from node_selector, which no longer applies to them."""
    prometheus_release: str | None = None
    """prometheusRelease: the Helm release of a kube-prometheus-stack already in the cluster (installPromOp
    must then be False); mlk's ServiceMonitors carry `release: <it>`."""
    tracking_image: str = field(default_factory=default_tracking_image)
    """trackingImage: MLflow's server, for the cluster's tracking server (enableTraining)."""
    tracking_storage_class: str = ""
    """trackingStorageClass: the StorageClass of its volume claim; empty: the cluster's default."""
    tracking_storage_size: str = "10Gi"
    """trackingStorageSize: the claim's size (runs, metrics and logged artifacts)."""
    namespace: str = DEFAULT_NAMESPACE
    system_image: str = field(default_factory=default_system_image)
    node_count: int | None = None
    """Schedulable nodes in the cluster, when known (for the HA fallback)."""

    def __post_init__(self) -> None:
        if not _LABEL.match(self.namespace) or len(self.namespace) > 63:
            raise UsageError(f"'{self.namespace}' is not a valid namespace name", hint="lowercase letters, digits, '-'")
        if self.router_service_type not in SERVICE_TYPES:
            raise UsageError(
                f"unknown inferenceRouterServiceType '{self.router_service_type}'", hint=", ".join(SERVICE_TYPES)
            )
        if (self.ssl_cert_pem is None) != (self.ssl_key_pem is None):
            raise UsageError("sslCertPemFile and sslKeyPemFile go together", hint="give both, or sslSecret")
        if self.enable_inference and not self.allow_insecure and not self.tls:
            raise UsageError(
                "HTTPS needs sslSecret, or sslCertPemFile + sslKeyPemFile",
                hint="or set allowInsecureConnections=True for plain HTTP",
            )
        parse_node_label(self.gpu_node_selector, "gpuNodeSelector")
        if self.prometheus_release is not None:
            if self.install_prom_op:
                raise UsageError(
                    "prometheusRelease names a Prometheus already in the cluster, but installPromOp installs mlk's",
                    hint="set installPromOp=False with prometheusRelease, or leave prometheusRelease out",
                )
            if not self.prometheus_release or not _LABEL_VALUE.match(self.prometheus_release):
                raise UsageError(
                    f"prometheusRelease '{self.prometheus_release}' is not a valid label value",
                    hint="the Helm release name of the kube-prometheus-stack (helm list -A)",
                )

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        given: Collection[str] = (),
        ssl_cert_pem: str | None = None,
        ssl_key_pem: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        system_image: str | None = None,
        node_count: int | None = None,
    ) -> ExtensionOptions:
        """From a resolved extension-config spec; `given`: the setting names the user typed (before defaults)."""
        for setting, pem in (("sslCertPemFile", ssl_cert_pem), ("sslKeyPemFile", ssl_key_pem)):
            if setting in config and pem is None:
                raise UsageError(f"{setting} is set but its contents were not read", hint="pass the PEM text")
        service_type = {t.lower(): t for t in SERVICE_TYPES}.get(
            str(config.get("inferenceRouterServiceType", "LoadBalancer")).lower(), "?"
        )
        explicit_ha = any(s in given for s in _HA_SETTINGS)
        ha = config.get("inferenceRouterHA", config.get("inferenceLoadBalancerHA"))
        return cls(
            enable_inference=config.get("enableInference") is True,
            enable_training=config.get("enableTraining") is True,
            router_service_type=service_type,
            allow_insecure=config.get("allowInsecureConnections") is True,
            ssl_secret=config.get("sslSecret"),
            ssl_cname=config.get("sslCname"),
            ssl_cert_pem=ssl_cert_pem,
            ssl_key_pem=ssl_key_pem,
            # False is never Azure's default, so it was set; True counts as set only when the user typed it
            router_ha=False if ha is False else (True if explicit_ha and ha else None),
            internal_load_balancer=config.get("internalLoadBalancerProvider"),
            node_selector={
                k.removeprefix("nodeSelector."): str(v)
                for k, v in sorted(config.items())
                if k.startswith("nodeSelector.")
            },
            install_nvidia_device_plugin=config.get("installNvidiaDevicePlugin") is True,
            install_dcgm_exporter=config.get("installDcgmExporter") is True,
            install_prom_op=config.get("installPromOp", True) is True,
            install_volcano=config.get("installVolcano", True) is True,
            install_kube_state_metrics=config.get("installKubeStateMetrics", True) is True,
            gpu_node_selector=str(config.get("gpuNodeSelector", GPU_NODE_SELECTOR)).strip(),
            prometheus_release=config.get("prometheusRelease") or None,
            tracking_image=str(config.get("trackingImage") or default_tracking_image()),
            tracking_storage_class=str(config.get("trackingStorageClass") or ""),
            tracking_storage_size=str(config.get("trackingStorageSize") or "10Gi"),
            namespace=namespace,
            system_image=system_image or default_system_image(),
            node_count=node_count,
        )

    @property
    def tls(self) -> bool:
        """The router serves HTTPS (a certificate was given, inline or as a Secret)."""
        return bool(self.ssl_secret or self.ssl_cert_pem)

    @property
    def ha(self) -> bool:
        """Three router replicas: as set, else Azure's default (on) unless the cluster has under 3 nodes."""
        if self.router_ha is not None:
            return self.router_ha
        return self.node_count is None or self.node_count >= HA_MIN_NODES

    @property
    def gpu_node_label(self) -> tuple[str, str | None] | None:
        """gpuNodeSelector as (label key, value); value None: any value (Exists); None: no restriction."""
        return parse_node_label(self.gpu_node_selector, "gpuNodeSelector")

    @property
    def monitoring_release(self) -> str | None:
        """The `release` label mlk's ServiceMonitors carry for the Prometheus operator's Prometheus to select
        them: mlk's own release with installPromOp, else prometheusRelease; None: no Prometheus operator."""
        if self.install_prom_op:
            return PROMETHEUS_RELEASE
        return self.prometheus_release

    @property
    def router_replicas(self) -> int:
        return 3 if self.ha else 1

    @property
    def tls_secret(self) -> str | None:
        """The Secret the router mounts its certificate from: the one mlk renders from the PEM contents when
        they were given (they are the more specific setting), else the user's sslSecret."""
        if self.ssl_cert_pem:
            return names.ROUTER_TLS_SECRET
        return self.ssl_secret
