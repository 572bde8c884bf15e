"""`invoke` against a cluster: POST to the endpoint's scoring URI, through a port-forward when the URI is
not reachable from here (a ClusterIP router: Azure's ClusterIP scoring URI only works inside the cluster).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mlk.errors import ExternalError, NotFoundError
from mlk.k8s.cluster import Cluster
from mlk.kube import endpoints
from mlk.render import names
from mlk.workspace import scoring
from mlk.workspace.home import Workspace

CONNECT_TIMEOUT = 3.0
ROUTER_PODS = f"{names.LABEL_NAME}={names.ROUTER}"
ROUTER_PORTS = {"http": 8080, "https": 8443}  # the router container's ports (mlk.render.system)


def _direct(url: str, timeout: float) -> http.client.HTTPConnection | None:
    """A connection to the scoring URI's host, or None when it cannot be reached from here."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    factory = http.client.HTTPSConnection if https else http.client.HTTPConnection
    connection = factory(parts.hostname or "", parts.port or (443 if https else 80), timeout=CONNECT_TIMEOUT)
    try:
        connection.connect()
    except ssl.SSLError as exc:
        raise ExternalError(
            f"the router's TLS certificate is not trusted here: {exc.reason}",
            hint="point SSL_CERT_FILE at the CA that signed it (the extension's sslCertPemFile)",
        ) from None
    except OSError:
        connection.close()
        return None
    if connection.sock is not None:
        connection.sock.settimeout(timeout)
    return connection


def _forwarded(cluster: Cluster, url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    pods = [
        p
        for p in cluster.list("v1", "Pod", None, label_selector=ROUTER_PODS)
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    ]
    if not pods:
        raise ExternalError(
            f"{parts.hostname} is not reachable from here and no router pod is ready to port-forward to",
            hint="mlk extension show reports the router's state",
        )
    pod = pods[0]["metadata"]
    sock: socket.socket = cluster.port_forward(pod["namespace"], pod["name"], ROUTER_PORTS[parts.scheme or "http"])
    sock.settimeout(timeout)
    if parts.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(parts.hostname or "", timeout=timeout)
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    connection.sock = sock  # http.client sends over an already connected socket
    return connection


def invoke(
    ws: Workspace, name: str, compute: Mapping[str, Any], body: bytes, deployment: str | None, timeout: float = 60
) -> str:
    namespace = str(compute["namespace"])
    with endpoints.connect(ws, compute) as cluster:
        cr = endpoints.get_cr(cluster, namespace, name)
        if cr is None:
            raise NotFoundError(f"online endpoint '{name}' is not in the cluster")
        url = (cr.get("status") or {}).get("scoringUri")
        if not url:
            raise ExternalError(f"endpoint '{name}' has no scoring URI yet", hint="is the operator running?")
        creds = endpoints.credentials(cluster, namespace, name, str((cr.get("spec") or {}).get("auth_mode", "key")))
        connection = _direct(url, timeout)
        where = url
        if connection is None:
            connection = _forwarded(cluster, url, timeout)
            where = f"{url}, through a port-forward"
        path = urlsplit(url).path
        return scoring.post(
            connection,
            path,
            body,
            scoring.headers_for(creds, deployment),
            name=name,
            deployment=deployment,
            where=where,
        )
