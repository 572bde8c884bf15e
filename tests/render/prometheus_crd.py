"""A stand-in for the Prometheus operator's ServiceMonitor CRD (monitoring.coreos.com/v1), for offline checks.

kubernetes-validate knows only Kubernetes' own kinds, and the real CRD comes with kube-prometheus-stack,
which the tests do not fetch. This is the part of its schema mlk's ServiceMonitors use, written after the
operator's API reference (ServiceMonitorSpec, Endpoint, NamespaceSelector, SafeTLSConfig), typed as the
operator types them. `cr_problems` reports any field outside it, so a misspelt field (which the API server
would prune, leaving a monitor that scrapes nothing) fails a test; a field mlk starts using is added here.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}
_DURATION = {
    "type": "string",
    "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
_LABEL_SELECTOR = {
    "type": "object",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": _STRING},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {"key": _STRING, "operator": _STRING, "values": {"type": "array", "items": _STRING}},
            },
        },
    },
}
_ENDPOINT = {
    "type": "object",
    "properties": {
        "port": _STRING,
        "targetPort": {"x-kubernetes-int-or-string": True},
        "path": _STRING,
        "scheme": {"type": "string", "enum": ["http", "https", "HTTP", "HTTPS"]},
        "interval": _DURATION,
        "scrapeTimeout": _DURATION,
        "honorLabels": {"type": "boolean"},
        "tlsConfig": {
            "type": "object",
            "properties": {"insecureSkipVerify": {"type": "boolean"}, "serverName": _STRING},
        },
    },
}
SERVICE_MONITOR_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "names": {"kind": "ServiceMonitor", "plural": "servicemonitors"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "required": ["spec"],
                        "properties": {
                            "apiVersion": _STRING,
                            "kind": _STRING,
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "required": ["selector"],
                                "properties": {
                                    "selector": _LABEL_SELECTOR,
                                    "namespaceSelector": {
                                        "type": "object",
                                        "properties": {
                                            "any": {"type": "boolean"},
                                            "matchNames": {"type": "array", "items": _STRING},
                                        },
                                    },
                                    "endpoints": {"type": "array", "items": _ENDPOINT},
                                    "jobLabel": _STRING,
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}
CRDS_BY_API = {("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR_CRD}
