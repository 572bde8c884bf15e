"""The extension's settings: Azure's `--config` names, resolved, plus what only mlk needs to know.

Render is pure, so the PEM files that `sslCertPemFile`/`sslKeyPemFile` name are read by the caller and
their *contents* come in here. Whether `inferenceRouterHA` was typed by the user or is Azure's default
matters on small clusters (the default falls back to one router replica below 3 nodes); resolved
settings cannot tell, so the caller passes the setting names the user gave.
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
SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
HA_MIN_NODES = 3
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HA_SETTINGS = ("inferenceRouterHA", "inferenceLoadBalancerHA")


def default_system_image() -> str:
    """mlk's own image (operator, router, storage-initializer), tagged with this mlk's version."""
    return f"{SYSTEM_REPOSITORY}:{mlk.__version__}"


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
    """nodeSelector.<key>=<value> settings: where mlk's own pods run."""
    install_nvidia_device_plugin: bool = False
    install_dcgm_exporter: bool = False
    install_prom_op: bool = True
    install_volcano: bool = True
    install_kube_state_metrics: bool = True
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
    def router_replicas(self) -> int:
        return 3 if self.ha else 1

    @property
    def tls_secret(self) -> str | None:
        """The Secret the router mounts its certificate from: the one mlk renders from the PEM contents when
        they were given (they are the more specific setting), else the user's sslSecret."""
        if self.ssl_cert_pem:
            return names.ROUTER_TLS_SECRET
        return self.ssl_secret
