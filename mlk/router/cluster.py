"""`python -m mlk.router.cluster`: the inference router as the extension runs it in the cluster.

It reads endpoints, keys and ready replicas from the cluster (mlk.router.kubernetes) with the pod's
ServiceAccount, and listens on --http-port (allowInsecureConnections=True) and/or --https-port with the
certificate the extension mounted (sslSecret, or sslCertPemFile/sslKeyPemFile).
"""

from __future__ import annotations

import argparse
import ssl
import sys

from mlk.errors import MlkError


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise MlkError(
            f"cannot load the TLS certificate {cert} with key {key}: {exc}",
            hint="the extension's sslSecret needs cert.pem and key.pem (PEM, the key unencrypted)",
        ) from None
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlk.router.cluster", description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--https-port", type=int)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--kubeconfig", help="outside a pod: the cluster to read (in a pod: its ServiceAccount)")
    parser.add_argument("--context")
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--max-body-size", type=int, help="bytes; larger bodies get 413 (default: mlk serve's)")
    parser.add_argument("--max-connections", type=int, help="open client connections at most; more get 503")
    args = parser.parse_args(argv)
    if args.http_port is None and args.https_port is None:
        parser.error("give --http-port, --https-port or both")
    if args.https_port is not None and not (args.tls_cert and args.tls_key):
        parser.error("--https-port needs --tls-cert and --tls-key")
    from mlk.http import Limits
    from mlk.k8s.cluster import Cluster, ClusterRef
    from mlk.router.kubernetes import KubernetesSource, wait_ready
    from mlk.router.main import run

    try:
        tls = tls_context(args.tls_cert, args.tls_key) if args.https_port is not None else None
        source = KubernetesSource(lambda: Cluster(ClusterRef(args.kubeconfig, args.context)))
        wait_ready(source)
        limits = Limits.given(max_body_bytes=args.max_body_size, max_connections=args.max_connections)
        return run(
            source, args.host, args.http_port, not args.no_access_log, tls_port=args.https_port, tls=tls, limits=limits
        )
    except MlkError as exc:
        print(f"ERROR: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
