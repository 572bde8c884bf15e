"""The EndpointSlice controller of a real cluster, in miniature (`FakeKube(endpoint_slices=True)`).

mlk's router finds a deployment's replicas through the EndpointSlices of its Service, so the fake keeps them as the
real controller does: one slice per Service with a selector, named `<service>-<suffix>`, owned by the Service (it
goes with it), labelled with the Service's labels plus `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by`, listing each selected pod that has an IP (by pod name) with its
ready/serving/terminating conditions and a targetRef, and the Service's ports resolved against the pods' container
ports (`name` is "" for an unnamed port, as upstream). Simplification: one slice per Service, whatever its size.
It takes over every slice labelled as the controller's, so it is off by default: tests that publish slices of
their own (with that label, as a kubelet stand-in running real processes does) leave it off.
"""

from __future__ import annotations

from typing import Any

from tests.fakekube.controller import Controller
from tests.fakekube.store import Change

SERVICES, PODS, SLICES = ("", "services"), ("", "pods"), ("discovery.k8s.io", "endpointslices")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
Obj = dict[str, Any]


class EndpointSlices(Controller):
    def _on_change(self, change: Change) -> None:
        if change.key in {SERVICES, PODS}:
            namespace = change.obj["metadata"].get("namespace", "")
            self._queue(namespace, self._reconcile, namespace)

    def _reconcile(self, namespace: str) -> None:
        slices_type = self.cluster.registry.builtin("endpointslices", "discovery.k8s.io")
        owned = {
            s["metadata"]["labels"].get(SERVICE_NAME): s
            for s in self.cluster.store.items(SLICES, namespace)
            if (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER
        }
        for service in self.cluster.store.items(SERVICES, namespace):
            selector = (service.get("spec") or {}).get("selector")
            if not selector or service["metadata"].get("deletionTimestamp"):
                continue
            desired = self._slice(service, selector)
            existing = owned.pop(service["metadata"]["name"], None)
            if existing is None:
                self.cluster.create(slices_type, namespace, desired, CONTROLLER)
            else:
                metadata = {**existing["metadata"], "labels": desired["metadata"]["labels"]}
                self.cluster.write(slices_type, {**desired, "metadata": metadata}, existing, "", CONTROLLER)
        for stale in owned.values():  # the Service lost its selector
            self.cluster.reaper.delete(slices_type, namespace, stale["metadata"]["name"])

    def _slice(self, service: Obj, selector: dict[str, str]) -> Obj:
        md = service["metadata"]
        pods = sorted(
            (
                p
                for p in self.cluster.store.items(PODS, md["namespace"])
                if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                and (p.get("status") or {}).get("podIP")
            ),
            key=lambda p: p["metadata"]["name"],
        )
        labels = {**(md.get("labels") or {}), SERVICE_NAME: md["name"], MANAGED_BY: CONTROLLER}
        owner = {"apiVersion": "v1", "kind": "Service", "name": md["name"], "uid": md["uid"]}
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "generateName": f"{md['name']}-",
                "labels": labels,
                "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}],
            },
            "addressType": "IPv4",
            "endpoints": [_endpoint(p) for p in pods],
            "ports": _ports(service, pods),
        }


def _endpoint(pod: Obj) -> Obj:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod["status"].get("conditions") or [])
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    md = pod["metadata"]
    endpoint: Obj = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": ready and not terminating, "serving": ready, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": md["namespace"], "name": md["name"], "uid": md["uid"]},
    }
    if (pod.get("spec") or {}).get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    return endpoint


def _ports(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Service's ports with their target ports resolved (a named one through the pods' container ports)."""
    container_ports = {
        p["name"]: p["containerPort"]
        for pod in pods
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if p.get("name")
    }
    resolved = []
    for port in (service.get("spec") or {}).get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        number = container_ports.get(target) if isinstance(target, str) else target
        if number is None:
            continue
        entry = {"name": port.get("name", ""), "port": number, "protocol": port.get("protocol", "TCP")}
        if port.get("appProtocol"):
            entry["appProtocol"] = port["appProtocol"]
        resolved.append(entry)
    return resolved
