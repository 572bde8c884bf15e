"""mlk's own workloads in the cluster: the operator, and the inference router with its Service.

The operator is one replica (Recreate: two kopf instances must never run at once) serving kopf's
liveness endpoint on :8080/healthz. The router listens on 8080 (HTTP, when insecure connections are
allowed) and 8443 (HTTPS, when a certificate was given); its Service maps them to 80 and 443. With HA
it runs 3 replicas spread over nodes (preferred anti-affinity: a 2-node cluster still schedules all
three) behind a PodDisruptionBudget. Both run as non-root with a read-only root filesystem.

Contracts with the modules these pods run:
- `python -m mlk.operator`: reads MLK_NAMESPACE, MLK_SYSTEM_IMAGE (the storage-initializer's image),
  MLK_ROUTER_SERVICE, MLK_SCORING_SCHEME and MLK_SCORING_HOST (sslCname, for scoring URIs); serves
  GET /healthz on :8080.
- `python -m mlk.router.cluster [--http-port 8080] [--https-port 8443 --tls-cert F --tls-key F]`: reads
  MLK_NAMESPACE; serves GET /healthz and GET /metrics (Prometheus text) on each port it listens on.

With a Prometheus operator (installPromOp, or prometheusRelease naming one already there) a ServiceMonitor
has each router's /metrics scraped through the router Service's endpoints (every replica, not the
load-balanced address): over `http` when insecure connections are allowed, else over `https` without
verifying the certificate (it names sslCname, not the pod addresses Prometheus dials inside the cluster).
"""

from __future__ import annotations

import hashlib
from typing import Any

from mlk.render import names
from mlk.render.objects import POD_SECURITY, azure_tolerations, container_security, meta, secret_data
from mlk.render.options import ExtensionOptions

HTTP_PORT, HTTPS_PORT, OPERATOR_HEALTH_PORT = 8080, 8443, 8080
MONITORING_API = "monitoring.coreos.com/v1"
"""The Prometheus operator's API (ServiceMonitor); its CRDs come with kube-prometheus-stack."""
TLS_DIR = "/etc/mlk/tls"
_POD_SECURITY = POD_SECURITY
_CONTAINER_SECURITY = container_security(read_only_root=True)
_NAMESPACE_ENV = {"name": "MLK_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}


def _selector(name: str) -> dict[str, str]:
    return {names.LABEL_NAME: name}


def _labels(name: str) -> dict[str, str]:
    return {**names.base_labels(name.removeprefix("mlk-")), **_selector(name)}


def _probe(path: str, port: str, *, scheme: str = "HTTP", failures: int = 3) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port, "scheme": scheme},
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _pod_spec(options: ExtensionOptions, name: str, container: dict[str, Any], volumes: list[Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": name,
        "securityContext": _POD_SECURITY,
        "containers": [
            {
                "name": container["name"],
                "image": options.system_image,
                **container,
                "securityContext": _CONTAINER_SECURITY,
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *container.get("volumeMounts", [])],
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}, *volumes],
        "tolerations": azure_tolerations(),
    }
    if options.node_selector:
        spec["nodeSelector"] = dict(sorted(options.node_selector.items()))
    return spec


def operator_deployment(options: ExtensionOptions) -> dict[str, Any]:
    name = names.OPERATOR
    env = [
        _NAMESPACE_ENV,
        {"name": "MLK_SYSTEM_IMAGE", "value": options.system_image},
        {"name": "MLK_ROUTER_SERVICE", "value": names.ROUTER},
        {"name": "MLK_SCORING_SCHEME", "value": "https" if options.tls else "http"},
        {"name": "MLK_SCORING_HOST", "value": options.ssl_cname} if options.ssl_cname else None,
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    container = {
        "name": "operator",
        "command": ["python", "-m", "mlk.operator"],
        "env": [e for e in env if e],
        "ports": [{"name": "health", "containerPort": OPERATOR_HEALTH_PORT}],
        "livenessProbe": {**_probe("/healthz", "health", failures=6), "initialDelaySeconds": 15},
        "readinessProbe": _probe("/healthz", "health"),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, options.namespace, labels=_labels(name)),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": _selector(name)},
            "template": {"metadata": {"labels": _labels(name)}, "spec": _pod_spec(options, name, container, [])},
        },
    }


def router_tls_secret(options: ExtensionOptions) -> dict[str, Any] | None:
    """A kubernetes.io/tls Secret from the PEM contents; None when they were not given."""
    if options.ssl_cert_pem is None or options.ssl_key_pem is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(names.ROUTER_TLS_SECRET, options.namespace, labels=_labels(names.ROUTER)),
        "type": "kubernetes.io/tls",
        "data": secret_data({"tls.crt": options.ssl_cert_pem, "tls.key": options.ssl_key_pem}),
    }


def _router_container(options: ExtensionOptions) -> dict[str, Any]:
    args: list[str] = []
    ports: list[dict[str, Any]] = []
    if options.allow_insecure:
        args += ["--http-port", str(HTTP_PORT)]
        ports.append({"name": "http", "containerPort": HTTP_PORT})
    if options.tls:
        args += ["--https-port", str(HTTPS_PORT), "--tls-cert", f"{TLS_DIR}/tls.crt", "--tls-key", f"{TLS_DIR}/tls.key"]
        ports.append({"name": "https", "containerPort": HTTPS_PORT})
    port, scheme = ("http", "HTTP") if options.allow_insecure else ("https", "HTTPS")
    return {
        "name": "router",
        "command": ["python", "-m", "mlk.router.cluster"],
        "args": args,
        "env": [_NAMESPACE_ENV, {"name": "PYTHONUNBUFFERED", "value": "1"}],
        "ports": ports,
        "readinessProbe": _probe("/healthz", port, scheme=scheme),
        "livenessProbe": {**_probe("/healthz", port, scheme=scheme, failures=6), "initialDelaySeconds": 10},
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1200Mi"}},
        "volumeMounts": [{"name": "tls", "mountPath": TLS_DIR, "readOnly": True}] if options.tls else [],
    }


def router_deployment(options: ExtensionOptions) -> dict[str, Any]:
    name = names.ROUTER
    volumes: list[dict[str, Any]] = []
    annotations: dict[str, str] = {}
    if options.tls_secret == names.ROUTER_TLS_SECRET:
        volumes.append({"name": "tls", "secret": {"secretName": names.ROUTER_TLS_SECRET}})
        pem = f"{options.ssl_cert_pem}\n{options.ssl_key_pem}".encode()
        annotations["mlk.dev/tls-sha256"] = hashlib.sha256(pem).hexdigest()[:16]  # a new certificate rolls the pods
    elif options.tls_secret:  # Azure's sslSecret layout: cert.pem and key.pem
        items = [{"key": "cert.pem", "path": "tls.crt"}, {"key": "key.pem", "path": "tls.key"}]
        volumes.append({"name": "tls", "secret": {"secretName": options.tls_secret, "items": items}})
    pod = _pod_spec(options, name, _router_container(options), volumes)
    if options.ha:
        term = {"labelSelector": {"matchLabels": _selector(name)}, "topologyKey": "kubernetes.io/hostname"}
        pod["affinity"] = {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]
            }
        }
    template_meta: dict[str, Any] = {"labels": _labels(name)}
    if annotations:
        template_meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, options.namespace, labels=_labels(name)),
        "spec": {
            "replicas": options.router_replicas,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": _selector(name)},
            "template": {"metadata": template_meta, "spec": pod},
        },
    }


def router_pdb(options: ExtensionOptions) -> dict[str, Any] | None:
    """With HA, voluntary disruptions (node drains) keep at least one router up."""
    if not options.ha:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(names.ROUTER, options.namespace, labels=_labels(names.ROUTER)),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _selector(names.ROUTER)}},
    }


def router_service(options: ExtensionOptions) -> dict[str, Any]:
    ports = []
    if options.allow_insecure:
        ports.append({"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"})
    if options.tls:
        ports.append({"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"})
    annotations = {}
    if options.internal_load_balancer == "azure":
        annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(names.ROUTER, options.namespace, labels=_labels(names.ROUTER), annotations=annotations),
        "spec": {"type": options.router_service_type, "selector": _selector(names.ROUTER), "ports": ports},
    }


def service_monitor(
    options: ExtensionOptions, name: str, labels: dict[str, str], endpoint: dict[str, Any]
) -> dict[str, Any] | None:
    """A ServiceMonitor scraping `endpoint` (a Service port, by name) of the Service labelled
    app.kubernetes.io/name=`name` in the extension's namespace, labelled `release: <release>` for the
    Prometheus operator's Prometheus to select it; None without a Prometheus operator."""
    release = options.monitoring_release
    if release is None:
        return None
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": meta(name, options.namespace, labels={**labels, "release": release}),
        "spec": {
            "selector": {"matchLabels": {names.LABEL_NAME: name}},
            "namespaceSelector": {"matchNames": [options.namespace]},
            "endpoints": [{**endpoint, "path": "/metrics"}],
        },
    }


def router_service_monitor(options: ExtensionOptions) -> dict[str, Any] | None:
    """The routers' /metrics, on the Service's `http` port when there is one, else `https`."""
    if options.allow_insecure:
        endpoint: dict[str, Any] = {"port": "http", "scheme": "http"}
    else:
        endpoint = {"port": "https", "scheme": "https", "tlsConfig": {"insecureSkipVerify": True}}
    return service_monitor(options, names.ROUTER, _labels(names.ROUTER), endpoint)
