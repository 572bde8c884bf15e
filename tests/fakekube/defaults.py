"""The defaults and conversions the real server applies to built-in kinds, where clients read them back.

Only what an operator or a test is likely to look at: a Service's cluster IP, port protocol and target port,
a Secret's `stringData` folded into base64 `data`, a Deployment's replicas and strategy, a Namespace's phase and
name label, a Pod's phase. The deep pod-template defaults (imagePullPolicy, terminationMessagePath, dnsPolicy…)
are not filled in: code that diffs a read-back deployment against what it rendered sees fewer fields here.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from tests.fakekube import meta
from tests.fakekube.errors import bad_request

_cluster_ips = (f"10.96.{n // 250}.{n % 250 + 1}" for n in itertools.count(1))


def _namespace(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    name = obj["metadata"]["name"]
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name


def _secret(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    obj.setdefault("type", "Opaque")
    for key, text in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(text).encode()).decode()
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except binascii.Error as error:
            why = f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at key {key!r}'
            raise bad_request(why) from error


def _service(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        previous = ((old or {}).get("spec") or {}).get("clusterIP")
        spec.setdefault("clusterIP", previous or next(_cluster_ips))
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})


def _deployment(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})


def _daemonset(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxSurge": 0, "maxUnavailable": 1})


def _pod(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if old is None:
        obj.setdefault("status", {}).setdefault("phase", "Pending")


DEFAULTERS: dict[tuple[str, str], Callable[[dict[str, Any], dict[str, Any] | None], None]] = {
    ("", "namespaces"): _namespace,
    ("", "secrets"): _secret,
    ("", "services"): _service,
    ("", "pods"): _pod,
    ("apps", "deployments"): _deployment,
    ("apps", "daemonsets"): _daemonset,
}


INITIAL_STATUS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps", "deployments"): {},
    ("apps", "daemonsets"): dict.fromkeys(
        ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"), 0
    ),
    ("policy", "poddisruptionbudgets"): dict.fromkeys(
        ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"), 0
    ),
    ("autoscaling", "horizontalpodautoscalers"): {"desiredReplicas": 0},
    ("networking.k8s.io", "ingresses"): {"loadBalancer": {}},
}
"""A new object's status, as the real server serializes it (fields without omitempty show up as zeros)."""


def apply_defaults(key: tuple[str, str], obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Fill in a built-in object's server-side defaults in place (no-op for kinds without any here)."""
    if old is None and key in INITIAL_STATUS:
        obj.setdefault("status", dict(INITIAL_STATUS[key]))
    defaulter = DEFAULTERS.get(key)
    if defaulter:
        # A malformed object (a list where a map belongs) is left alone: schema validation reports it next.
        with contextlib.suppress(AttributeError, TypeError):
            defaulter(obj, old)


NODE = "fakekube-node"
"""The one node of the fake cluster (where simulated pods are "scheduled"); tests may create more."""


def node_labels(name: str) -> dict[str, str]:
    return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}


def node_status(kube_version: str) -> dict[str, Any]:
    """A Ready node's status, as a kubelet reports it (capacity enough for any test)."""
    resources = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    info = dict.fromkeys(("machineID", "systemUUID", "bootID"), "fakekube")
    info |= {
        "kernelVersion": "6.1.0",
        "osImage": "fakekube",
        "containerRuntimeVersion": "containerd://1.7.0",
        "kubeletVersion": f"v{kube_version}.0",
        "kubeProxyVersion": f"v{kube_version}.0",
        "operatingSystem": "linux",
        "architecture": "amd64",
    }
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
    return {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [ready | {"lastHeartbeatTime": meta.now(), "lastTransitionTime": meta.now()}],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}, {"type": "Hostname", "address": NODE}],
        "nodeInfo": info,
    }
