"""The operator's handlers (kopf): render the children, adopt them, apply them, report a short status.

OnlineEndpoint   → its keys Secret (never a ConfigMap); status: state, scoring URI, traffic.
OnlineDeployment → ServiceAccount, Deployment (Azure's pod shape), ClusterIP Service; status follows the
                   Deployment and its pods, with the real reason when they fail.
Children carry owner references, so deleting a resource deletes what it made. A missing endpoint or
instance type is reported in the status and retried; an invalid combination is permanent.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import kopf

from mlk.k8s.cluster import Cluster
from mlk.operator import autoscale, registry, storage
from mlk.operator.status import condition
from mlk.render import names
from mlk.render.workload import deployment_objects, endpoint_objects, owned_by, routed_keys

NAMESPACE = os.environ.get("MLK_NAMESPACE", "mlk-system")
SYSTEM_IMAGE = os.environ.get("MLK_SYSTEM_IMAGE", "ghcr.io/mlk-dev/mlk:latest")
ROUTER_SERVICE = os.environ.get("MLK_ROUTER_SERVICE", names.ROUTER)
_cluster: Cluster | None = None


def cluster() -> Cluster:
    global _cluster
    if _cluster is None:
        _cluster = Cluster()
    return _cluster


def scoring_uri(endpoint: str) -> str:
    """Where clients reach the endpoint: the router Service's address, with the scheme and host the
    extension was installed with (sslCname); the Service annotation `mlk.dev/public-url` wins (ingress)."""
    service = cluster().get("v1", "Service", ROUTER_SERVICE, NAMESPACE) or {}
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    base = annotations.get("mlk.dev/public-url")
    if not base:
        spec, status = service.get("spec") or {}, service.get("status") or {}
        ingress = ((status.get("loadBalancer") or {}).get("ingress") or [{}])[0]
        host = (
            os.environ.get("MLK_SCORING_HOST")
            or ingress.get("hostname")
            or ingress.get("ip")
            or spec.get("clusterIP")
            or f"{ROUTER_SERVICE}.{NAMESPACE}"
        )
        base = f"{os.environ.get('MLK_SCORING_SCHEME', 'http')}://{host}"
    return f"{base.rstrip('/')}/api/v1/endpoint/{endpoint}/score"


# --- endpoints ------------------------------------------------------------------------------------------
@kopf.on.resume(names.GROUP, names.VERSION, "onlineendpoints")
@kopf.on.create(names.GROUP, names.VERSION, "onlineendpoints")
@kopf.on.update(names.GROUP, names.VERSION, "onlineendpoints")
def reconcile_endpoint(
    body: kopf.Body, name: str, namespace: str | None, spec: kopf.Spec, patch: kopf.Patch, **_: Any
) -> None:
    assert namespace is not None  # OnlineEndpoint is namespaced
    secret_name = names.keys_secret_name(name)
    existing = cluster().get("v1", "Secret", secret_name, namespace)
    if existing and existing.get("data"):
        import base64

        keys = {k: base64.b64decode(v).decode() for k, v in existing["data"].items()}
    else:
        keys = {
            "primaryKey": secrets.token_urlsafe(32),
            "secondaryKey": secrets.token_urlsafe(32),
            "tokenSecret": secrets.token_urlsafe(32),
        }
    for obj in endpoint_objects(dict(body), namespace=namespace, keys=keys):
        applied = cluster().apply(owned_by(obj, body))
        # the routers' copy (they read Secrets in the extension's namespace only); `regenerate-keys` marks
        # the endpoint so that this runs again with the new keys
        cluster().apply(routed_keys(name, namespace, applied, NAMESPACE))
    traffic = dict(spec.get("traffic") or {})
    generation = body.get("metadata", {}).get("generation")
    patch.status.update(
        {
            "state": "Succeeded",
            "scoringUri": scoring_uri(name),
            "swaggerUri": scoring_uri(name).removesuffix("score") + "swagger.json",
            "keysSecret": secret_name,
            "traffic": traffic,
            "trafficText": " ".join(f"{k}={v}" for k, v in sorted(traffic.items())) or "-",
            "conditions": [
                condition(
                    "Ready",
                    True,
                    "KeysReady",
                    f"keys in Secret {secret_name}; the router serves {scoring_uri(name)}",
                    generation,
                    (body.get("status") or {}).get("conditions") or [],
                )
            ],
            "observedGeneration": generation,
        }
    )


# --- deployments ----------------------------------------------------------------------------------------
def _endpoint_of(spec: kopf.Spec, namespace: str) -> dict[str, Any]:
    endpoint_name = str(spec["endpoint_name"])
    found = cluster().get(names.API_VERSION, "OnlineEndpoint", names.canonical(endpoint_name), namespace)
    if found is None:
        raise kopf.TemporaryError(f"endpoint '{endpoint_name}' does not exist (yet)", delay=5)
    return found


def _instance_type(spec: kopf.Spec) -> dict[str, Any]:
    wanted = str(spec.get("instance_type") or names.DEFAULT_INSTANCE_TYPE)
    found = cluster().get(names.API_VERSION, "InstanceType", wanted)
    if found is None:
        raise kopf.PermanentError(
            f"instance type '{wanted}' does not exist in the cluster (kubectl get instancetypes.mlk.dev lists them)"
        )
    return found


@kopf.on.resume(names.GROUP, names.VERSION, "onlinedeployments")
@kopf.on.create(names.GROUP, names.VERSION, "onlinedeployments")
@kopf.on.update(names.GROUP, names.VERSION, "onlinedeployments")
def reconcile_deployment(
    body: kopf.Body, name: str, namespace: str | None, spec: kopf.Spec, patch: kopf.Patch, **_: Any
) -> None:
    assert namespace is not None  # OnlineDeployment is namespaced
    try:
        endpoint = _endpoint_of(spec, namespace)
        instance_type = _instance_type(spec)
        storage_secret = _storage(body, spec)
        pull_secret = _pull_secret(body, spec)
        objects = deployment_objects(
            endpoint,
            dict(body),
            namespace=namespace,
            instance_type=instance_type,
            system_image=SYSTEM_IMAGE,
            storage_secret=storage_secret,
            keys_secret=names.keys_secret_name(str(endpoint["metadata"]["name"])),
            autoscaled_replicas=((body.get("status") or {}).get("autoscaler") or {}).get("replicas"),
            image_pull_secret=pull_secret,
            router_namespace=NAMESPACE,
        )
    except ValueError as exc:
        patch.status.update(_failed("InvalidSpec", str(exc), body))
        raise kopf.PermanentError(str(exc)) from exc
    except kopf.PermanentError as exc:
        patch.status.update(_failed("InstanceTypeNotFound", str(exc), body))
        raise
    _belong_to(body, endpoint)
    generation = int(body.get("metadata", {}).get("generation") or 1)
    if (body.get("status") or {}).get("observedGeneration") != generation:
        # a new spec: said before its workload is applied, so that the verdict its pods bring (follow.refresh:
        # Failed as Unschedulable...) comes after it and stands; a handler's patch lands after the handler,
        # which could be after that verdict. A resumed deployment keeps the state it has.
        state = {"state": "Updating" if generation > 1 else "Creating", "observedGeneration": generation}
        cluster().patch_status(names.API_VERSION, "OnlineDeployment", name, {"status": state}, namespace)
    for obj in objects:
        cluster().apply(owned_by(obj, body))


def _belong_to(body: kopf.Body, endpoint: dict[str, Any]) -> None:
    """Make the deployment a dependent of its endpoint: deleting the endpoint (mlk, az ml or kubectl)
    deletes its deployments, as in Azure."""
    uid = endpoint["metadata"]["uid"]
    references = list(body.get("metadata", {}).get("ownerReferences") or [])
    if any(r.get("uid") == uid for r in references):
        return
    references.append(
        {"apiVersion": names.API_VERSION, "kind": "OnlineEndpoint", "name": endpoint["metadata"]["name"], "uid": uid}
    )
    cluster().patch_merge(
        names.API_VERSION,
        "OnlineDeployment",
        body["metadata"]["name"],
        {"metadata": {"ownerReferences": references}},
        body["metadata"]["namespace"],
    )


def _storage(body: kopf.Body, spec: kopf.Spec) -> str:
    source = (spec.get("runtime") or {}).get("storage_secret")
    if not source:
        raise ValueError("spec.runtime.storage_secret is missing: create deployments with mlk online-deployment")
    try:
        return storage.ensure(cluster(), body, str(source))
    except storage.MissingStorage as exc:
        raise kopf.TemporaryError(str(exc), delay=10) from exc


def _pull_secret(body: kopf.Body, spec: kopf.Spec) -> str | None:
    """The pods' pull Secret, made from the workspace's registry Secret when the CLI gave one; else the
    Secret named by hand in runtime.image_pull_secret, or none (public registry, kubelet credentials)."""
    runtime = spec.get("runtime") or {}
    source = runtime.get("registry_secret")
    if not source:
        return str(runtime["image_pull_secret"]) if runtime.get("image_pull_secret") else None
    try:
        return registry.ensure(cluster(), body, str(source))
    except registry.MissingRegistry as exc:
        raise kopf.TemporaryError(str(exc), delay=10) from exc


@kopf.timer(
    names.GROUP, names.VERSION, "onlinedeployments", interval=storage.RENEW_INTERVAL_S, initial_delay=60, idle=60
)
def renew_storage(body: kopf.Body, spec: kopf.Spec, **_: Any) -> None:
    """Keep the pods' read-only SAS valid: a pod started by a scale-up next week must still fetch its model."""
    source = (spec.get("runtime") or {}).get("storage_secret")
    if source:
        storage.ensure(cluster(), body, str(source))


def _failed(reason: str, message: str, body: kopf.Body) -> dict[str, Any]:
    generation = int(body.get("metadata", {}).get("generation") or 1)
    previous = (body.get("status") or {}).get("conditions") or []
    return {"state": "Failed", "conditions": [condition("Ready", False, reason, message, generation, previous)]}


@kopf.on.delete(names.GROUP, names.VERSION, "onlineendpoints", optional=True)
def endpoint_deleted(name: str, namespace: str | None, **_: Any) -> None:
    """The routers' copy of the keys has no owner reference (another namespace): it goes here."""
    assert namespace is not None
    cluster().delete("v1", "Secret", names.routed_keys_secret_name(namespace, name), NAMESPACE)


def _is_router_service(name: str | None, namespace: str | None, **_: Any) -> bool:
    return name == ROUTER_SERVICE and namespace == NAMESPACE


@kopf.on.event("", "v1", "services", labels={names.LABEL_MANAGED_BY: names.MANAGED_BY}, when=_is_router_service)
def router_service_changed(**_: Any) -> None:
    """The router's address can arrive after the endpoints (a cloud's load balancer takes its time):
    every endpoint's scoring URI follows it."""
    for endpoint in cluster().list(names.API_VERSION, "OnlineEndpoint", None):
        meta, status = endpoint["metadata"], endpoint.get("status") or {}
        uri = scoring_uri(str(meta["name"]))
        if status.get("scoringUri") and status["scoringUri"] != uri:
            update = {"scoringUri": uri, "swaggerUri": uri.removesuffix("score") + "swagger.json"}
            cluster().patch_status(
                names.API_VERSION, "OnlineEndpoint", meta["name"], {"status": update}, meta["namespace"]
            )


# --- autoscaling ----------------------------------------------------------------------------------------
def _autoscaled(spec: kopf.Spec, **_: Any) -> bool:
    return bool((spec.get("scale_settings") or {}).get("type") == "target_utilization")


def _router_pages() -> list[str]:
    """Every ready router's /metrics page (the routers each see their own share of the traffic)."""
    import ssl
    import urllib.request

    pages = []
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # pod IPs: no name to verify
    for pod in cluster().list("v1", "Pod", NAMESPACE, label_selector=f"{names.LABEL_NAME}={ROUTER_SERVICE}"):
        ip = (pod.get("status") or {}).get("podIP")
        for url in (f"http://{ip}:8080/metrics", f"https://{ip}:8443/metrics"):
            try:
                with urllib.request.urlopen(url, timeout=1, context=insecure if url.startswith("https") else None) as r:
                    pages.append(r.read().decode())
                break
            except OSError:
                continue
    return pages


@kopf.daemon(names.GROUP, names.VERSION, "onlinedeployments", when=_autoscaled, cancellation_timeout=5)
def autoscaler(body: kopf.Body, name: str, namespace: str | None, stopped: kopf.DaemonStopped, **_: Any) -> None:
    """scale_settings target_utilization: one loop per deployment, every polling_interval (mlk.operator.autoscale)."""
    import time

    assert namespace is not None
    low_since: float | None = None
    labels = (body.get("metadata") or {}).get("labels") or {}
    endpoint, deployment = labels.get(names.LABEL_ENDPOINT, ""), labels.get(names.LABEL_DEPLOYMENT, "")
    while not stopped:
        spec = body.get("spec") or {}  # a live view: edits to scale_settings apply at the next poll
        settings = autoscale.Settings.of(spec.get("scale_settings") or {})
        stopped.wait(settings.polling_interval)
        if stopped:
            return
        workload = cluster().get("apps/v1", "Deployment", name, namespace)
        if workload is None:
            continue
        current = int((workload.get("spec") or {}).get("replicas") or 0)
        concurrency = int((spec.get("request_settings") or {}).get("max_concurrent_requests_per_instance", 1))
        in_flight, queued = autoscale.load_from_metrics(_router_pages(), endpoint, deployment)
        used = autoscale.utilization(in_flight, queued, current, concurrency)
        decision = autoscale.decide(current, used, settings, time.monotonic(), low_since)
        low_since = decision.low_since
        if decision.replicas != current:
            cluster().patch_merge("apps/v1", "Deployment", name, {"spec": {"replicas": decision.replicas}}, namespace)
            status = {"replicas": decision.replicas, "utilization": round(used, 3), "lastScale": time.time()}
            cluster().patch_status(
                names.API_VERSION, "OnlineDeployment", name, {"status": {"autoscaler": status}}, namespace
            )
