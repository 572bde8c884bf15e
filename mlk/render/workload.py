"""What the operator creates for an endpoint and for each of its deployments.

An endpoint owns one Opaque Secret with its keys (Azure's extension keeps them in a ConfigMap; mlk does
not). A deployment becomes a ServiceAccount (no API token mounted: inference pods never talk to the API
server), a Deployment with the pod shape of mlk.render.pod, and a ClusterIP Service (80 → the pod's `http`
port: the server's, or a custom container's route adapter) that the router finds replicas through. Owner
references are the operator's business: it knows the owner's uid; `owned_by` adds them.

`endpoint` and `deployment` may be resolved az ml specs (with `name`; a deployment also with the
`runtime` mlk fills in) or the OnlineEndpoint/OnlineDeployment resources themselves.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mlk.render import names, pod
from mlk.render.objects import POD_SECURITY, TMP_VOLUME, azure_tolerations, container_security, meta, secret_data
from mlk.render.options import DEFAULT_NAMESPACE

ROLLOUT_DEADLINE_S = 1200
"""Azure's in-cluster create times out after 20 minutes; a rollout stuck longer is reported as failed."""


def _unwrap(obj: Mapping[str, Any], label: str) -> tuple[str, Mapping[str, Any]]:
    """(Azure name, spec) of a resolved spec or of an mlk custom resource."""
    if "spec" in obj and "kind" in obj:
        metadata = obj.get("metadata") or {}
        name = (metadata.get("labels") or {}).get(label) or metadata.get("name")
        return str(name), obj["spec"]
    return str(obj["name"]), obj


def deployment_objects(
    endpoint: Mapping[str, Any],
    deployment: Mapping[str, Any],
    *,
    namespace: str,
    instance_type: Mapping[str, Any],
    system_image: str,
    storage_secret: str,
    keys_secret: str | None = None,
    autoscaled_replicas: int | None = None,
    image_pull_secret: str | None = None,
    router_namespace: str = DEFAULT_NAMESPACE,
) -> list[dict[str, Any]]:
    """ServiceAccount, Deployment, Service and NetworkPolicy of one online deployment.

    `autoscaled_replicas`: under target_utilization, the count the autoscaler chose last (kept within
    min/max_instances), so applying the deployment again does not undo a scale-up.

    `instance_type`: an InstanceType (or its spec); `storage_secret`: the Secret whose `storage.json` lets
    the storage-initializer read the models and code; `keys_secret`: the endpoint's keys Secret, recorded
    in an annotation for people reading the Deployment (no container mounts it: keys stay in the router);
    `image_pull_secret`: the pods' dockerconfigjson Secret (default: the one runtime.image_pull_secret names);
    `router_namespace`: where the extension's routers run, the only pods the NetworkPolicy lets in.
    """
    ep_name, _ = _unwrap(endpoint, names.LABEL_ENDPOINT)
    dep_name, spec = _unwrap(deployment, names.LABEL_DEPLOYMENT)
    if names.canonical(str(spec.get("endpoint_name", ep_name))) != names.canonical(ep_name):
        raise ValueError(f"deployment {dep_name} belongs to endpoint {spec.get('endpoint_name')}, not {ep_name}")
    runtime = spec.get("runtime") or {}
    if not runtime.get("image"):
        raise ValueError(f"deployment {dep_name} has no runtime.image: its environment was not built yet")
    name = names.deployment_object_name(ep_name, dep_name)
    labels = {**names.base_labels("inference-server"), **names.deployment_labels(ep_name, dep_name)}
    selector = names.selector_labels(ep_name, dep_name)
    it_spec = instance_type.get("spec", instance_type) if "kind" in instance_type else instance_type
    res = pod.resources(it_spec, spec)
    tolerations = azure_tolerations()
    if pod.wants_gpu(res):
        tolerations.insert(0, {"key": pod.GPU, "operator": "Exists", "effect": "NoSchedule"})
    init = pod.initializer(system_image, storage_secret, runtime)
    containers = [pod.server(ep_name, spec, str(runtime["image"]), res)]
    custom = pod.inference_config(spec)
    if custom is not None:  # routers speak /score and GET /: the adapter maps them to the container's routes
        containers.append(route_adapter(system_image, custom))
    pull = image_pull_secret or runtime.get("image_pull_secret")
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": pod.grace_seconds(spec),
        "securityContext": POD_SECURITY,
        "initContainers": [init] if init else None,
        "containers": containers,
        "volumes": [{"name": pod.VOLUME, "emptyDir": {}}, {"name": TMP_VOLUME, "emptyDir": {}}],
        "nodeSelector": dict(sorted((it_spec.get("nodeSelector") or {}).items())) or None,
        "tolerations": tolerations,
        "imagePullSecrets": [{"name": str(pull)}] if pull else None,
    }
    scale = spec.get("scale_settings") or {}
    autoscaled = scale.get("type") == "target_utilization"
    replicas = spec.get("instance_count", 1)
    if autoscaled:
        low, high = int(scale.get("min_instances", 1)), int(scale.get("max_instances", 1))
        replicas = min(high, max(low, autoscaled_replicas if autoscaled_replicas is not None else low))
    annotations = {"mlk.dev/keys-secret": keys_secret} if keys_secret else None
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(name, namespace, labels=labels),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(name, namespace, labels=labels, annotations=annotations),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "progressDeadlineSeconds": ROLLOUT_DEADLINE_S,
                "revisionHistoryLimit": 3,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {k: v for k, v in pod_spec.items() if v is not None},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(name, namespace, labels=labels),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        network_policy(name, namespace, labels, selector, router_namespace),
    ]


def adapter_port(config: Mapping[str, Any]) -> int:
    """The route adapter's port: 5001 (the inference server's, which routers and Services expect), or the
    next one the custom container's own routes leave free (they share the pod's network)."""
    taken = {int(config[route]["port"]) for route in ("liveness_route", "readiness_route", "scoring_route")}
    port = pod.SERVER_PORT
    while port in taken:
        port += 1
    return port


def route_adapter(system_image: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The route-adapter container. No probes of its own: the custom container's say whether the pod
    can score."""
    port = adapter_port(config)
    return {
        "name": "route-adapter",
        "image": system_image,
        "command": ["python", "-m", pod.ADAPTER_MODULE],
        "args": ["--listen", f"0.0.0.0:{port}", *pod.adapter_args(config)],
        "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        "securityContext": container_security(read_only_root=True),
        # it forwards until the pod is out of every router's rotation, as the server keeps serving
        "lifecycle": {"preStop": {"sleep": {"seconds": pod.LEAVE_ROTATION_SECONDS}}},
    }


def network_policy(
    name: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str], router_namespace: str
) -> dict[str, Any]:
    """Only the extension's routers reach a deployment's pods: scoring goes through keys and traffic rules."""
    routers = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": router_namespace}},
        "podSelector": {"matchLabels": {names.LABEL_NAME: names.ROUTER}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, namespace, labels=labels),
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [routers], "ports": [{"port": "http", "protocol": "TCP"}]}],
        },
    }


def endpoint_objects(endpoint: Mapping[str, Any], *, namespace: str, keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """The endpoint's keys Secret (Opaque; e.g. primaryKey/secondaryKey, or the aml_token signing secret)."""
    if not keys or not all(keys.values()):
        raise ValueError("an endpoint's keys Secret needs at least one non-empty key")
    name, _ = _unwrap(endpoint, names.LABEL_ENDPOINT)
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(
                names.keys_secret_name(name),
                namespace,
                labels={**names.base_labels("endpoint-keys"), **names.endpoint_labels(name)},
            ),
            "type": "Opaque",
            "data": secret_data(keys),
        }
    ]


def routed_keys(endpoint: str, namespace: str, keys_secret: Mapping[str, Any], system_namespace: str) -> dict[str, Any]:
    """The copy of an endpoint's keys Secret that the routers read, in the extension's namespace."""
    labels = {
        **names.base_labels(names.ROUTED_KEYS),
        **names.endpoint_labels(endpoint),
        names.LABEL_ENDPOINT_NAMESPACE: namespace,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(names.routed_keys_secret_name(namespace, endpoint), system_namespace, labels=labels),
        "type": "Opaque",
        "data": dict(keys_secret.get("data") or {}),
    }


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `obj` whose controller is `owner` (deleted with it; its deletion waits for `obj`'s).

    The owner must have been read from the API server (it needs a uid) and, when namespaced, live in the
    object's namespace: Kubernetes ignores owner references across namespaces.
    """
    owner_meta = owner.get("metadata") or {}
    uid = owner_meta.get("uid")
    if not uid:
        raise ValueError(f"owner {owner.get('kind')}/{owner_meta.get('name')} has no uid (read it from the cluster)")
    out = copy.deepcopy(dict(obj))
    metadata = out.setdefault("metadata", {})
    if owner_meta.get("namespace") and owner_meta["namespace"] != metadata.get("namespace"):
        raise ValueError("an owner in another namespace is not honoured by Kubernetes")
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner_meta["name"],
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    others = [r for r in metadata.get("ownerReferences", []) if r.get("uid") != uid and not r.get("controller")]
    metadata["ownerReferences"] = [*others, reference]
    return out
