"""The in-cluster router's view: endpoints, keys and ready replicas from mlk's resources and EndpointSlices."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlk.render import names
from mlk.router.config import RouterConfig
from mlk.router.kubernetes import from_objects


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def endpoint(name: str, namespace: str = "ml", created: str = "2026-01-01T00:00:00Z", **spec: Any) -> dict[str, Any]:
    labels = names.endpoint_labels(name)
    return {
        "metadata": {"name": name.lower(), "namespace": namespace, "labels": labels, "creationTimestamp": created},
        "spec": {"auth_mode": "key", **spec},
    }


def deployment(ep: str, name: str, namespace: str = "ml", **settings: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": names.deployment_object_name(ep, name),
            "namespace": namespace,
            "labels": names.deployment_labels(ep, name),
        },
        "spec": {"endpoint_name": ep, "request_settings": settings},
    }


def keys(ep: str, namespace: str = "ml") -> dict[str, Any]:
    data = {"primaryKey": _b64("k1"), "secondaryKey": _b64("k2"), "tokenSecret": _b64("t")}
    from mlk.render.workload import routed_keys

    return routed_keys(ep, namespace, {"data": data}, "mlk-system")  # the operator's copy the router reads


def endpoint_slice(ep: str, dep: str, addresses: list[tuple[str, bool]], port: int = 5001) -> dict[str, Any]:
    service = names.deployment_object_name(ep, dep)
    return {
        "metadata": {"name": f"{service}-abcde", "namespace": "ml", "labels": {"kubernetes.io/service-name": service}},
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a, ready in addresses],
    }


def test_ready_pods_keys_traffic_and_settings() -> None:
    config = from_objects(
        [endpoint("My-Endpoint", traffic={"Blue": 90, "green": 10}, mirror_traffic={})],
        [deployment("My-Endpoint", "blue", max_concurrent_requests_per_instance=4), deployment("My-Endpoint", "green")],
        [keys("My-Endpoint")],
        [
            endpoint_slice("My-Endpoint", "blue", [("10.0.0.1", True), ("10.0.0.2", False)]),
            endpoint_slice("My-Endpoint", "green", [("fd00::5", True)], port=8000),
        ],
    )
    ep = config.endpoints["my-endpoint"]
    assert ep.keys == ("k1", "k2") and ep.token_secret == "t"
    assert ep.traffic == {"blue": 90, "green": 10}
    assert ep.deployments["blue"].replicas == ("http://10.0.0.1:5001",)  # the unready pod is not in rotation
    assert ep.deployments["blue"].settings.max_concurrent_requests_per_instance == 4
    assert ep.deployments["green"].replicas == ("http://[fd00::5]:8000",)
    assert ep.deployments["green"].settings.request_timeout_ms == 5000  # Azure's default


def test_same_endpoint_name_in_two_namespaces_the_older_keeps_it() -> None:
    config = from_objects(
        [
            endpoint("shared", namespace="team-b", created="2026-02-01T00:00:00Z", traffic={"a": 100}),
            endpoint("shared", namespace="team-a", created="2026-01-01T00:00:00Z", traffic={"b": 100}),
        ],
        [],
        [],
        [],
    )
    assert dict(config.endpoints["shared"].traffic) == {"b": 100}


def test_a_deployment_of_another_namespace_is_not_mixed_in() -> None:
    config = from_objects([endpoint("ep-one")], [deployment("ep-one", "blue", namespace="other")], [], [])
    assert config.endpoints["ep-one"].deployments == {}
    assert config == from_objects([endpoint("ep-one")], [], [], [])  # equal configs: no reload


def test_empty_cluster() -> None:
    assert from_objects([], [], [], []) == RouterConfig({})


@pytest.mark.slow
def test_router_serves_https_with_the_mounted_certificate(tmp_path: Path, replicas, runner) -> None:
    """--https-port with a certificate: the scoring URI answers over TLS (allowInsecureConnections=False)."""
    import asyncio

    from mlk.http.serve import bind
    from mlk.router.cluster import tls_context
    from mlk.router.main import serve

    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    (replica,) = replicas(1)
    slices = [endpoint_slice("tls-ep", "blue", [("127.0.0.1", True)], port=replica.port)]
    config = from_objects(
        [endpoint("tls-ep", traffic={"blue": 100})], [deployment("tls-ep", "blue")], [keys("tls-ep")], slices
    )

    class Fixed:
        def load(self) -> RouterConfig:
            return config

        async def watch(self, apply: Any) -> None:
            await asyncio.Event().wait()

        def poke(self) -> None:
            pass

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    ready, stop = asyncio.Event(), asyncio.Event()
    future = asyncio.run_coroutine_threadsafe(
        serve(Fixed(), "127.0.0.1", None, False, ready, stop, tls_port=port, tls=tls_context(str(cert), str(key))),
        runner.loop,
    )
    try:
        runner.call(asyncio.wait_for(ready.wait(), 10))
        client = ssl.create_default_context(cafile=str(cert))
        request = urllib.request.Request(
            f"https://localhost:{port}/api/v1/endpoint/tls-ep/score",
            data=b"{}",
            headers={"Authorization": "Bearer k1", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=client, timeout=10) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["port"] == replica.port
        with pytest.raises(urllib.error.URLError):  # a client that does not trust the certificate is refused
            urllib.request.urlopen(request, context=ssl.create_default_context(), timeout=10)
    finally:
        runner.loop.call_soon_threadsafe(stop.set)
        future.result(30)
