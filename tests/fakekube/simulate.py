"""A stand-in for the controllers and kubelets of a real cluster (`FakeKube(simulate_workloads=True)`).

Shortly after a Deployment or DaemonSet changes (50 ms by default, on a timer, so watchers see the object first
and its status afterwards, as they would upstream), pods are created for it from its template, labelled like the
template plus `pod-template-hash` (`controller-revision-hash` for daemon sets), named `<name>-<hash>-<n>` and marked
Running and Ready; the workload's status counts them. Scaling down deletes the highest-numbered pods; a template
change replaces all pods at once; a deleted pod is replaced. No container runs: pod logs come from
`FakeKube.set_pod_log`. Simplifications: pods are owned by the Deployment itself (no ReplicaSets) and a daemon set
has one pod (one node). Services get their EndpointSlices from `endpoints`.

`fail(ns, name, reason, message)` makes a workload's containers wait with that reason (ImagePullBackOff and
ErrImagePull keep the pod Pending; CrashLoopBackOff runs it with restarts), its pods unready and its status
unavailable: what an operator reads to report why a deployment does not come up.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
from typing import Any

from tests.fakekube import meta
from tests.fakekube.cluster import Cluster
from tests.fakekube.controller import Controller
from tests.fakekube.defaults import NODE
from tests.fakekube.errors import ApiError
from tests.fakekube.store import Change

DEPLOYMENTS, DAEMONSETS, PODS = ("apps", "deployments"), ("apps", "daemonsets"), ("", "pods")
MANAGER = "kube-controller-manager"
Obj = dict[str, Any]


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(meta.GENERATED_CHARS[b % len(meta.GENERATED_CHARS)] for b in digest[:10])


def conditions(old: list[Obj] | None, wanted: list[tuple[str, bool, str, str]], updated: bool = False) -> list[Obj]:
    """Conditions keeping their lastTransitionTime (and lastUpdateTime) while their status does not change."""
    before = {c["type"]: c for c in old or []}
    result = []
    for kind, ok, reason, message in wanted:
        status = "True" if ok else "False"
        previous = before.get(kind) or {}
        same = previous.get("status") == status and (previous.get("reason") or "") == reason
        stamp = previous.get("lastTransitionTime") if same else meta.now()
        condition = {"type": kind, "status": status, "lastTransitionTime": stamp, "reason": reason, "message": message}
        if updated:
            condition["lastUpdateTime"] = previous.get("lastUpdateTime") if same else stamp
        result.append(condition)
    return result


class Workloads(Controller):
    def __init__(self, cluster: Cluster, delay: float = 0.05) -> None:
        super().__init__(cluster, delay)
        self.failures: dict[tuple[str, str], tuple[str, str]] = {}
        self.kubelet_labels: dict[str, str] | None = None
        """Pods with these labels are run by an outside kubelet: not ready until `set_ready` says so."""
        self.ready_pods: set[tuple[str, str]] = set()
        self._ips = (f"10.244.{n // 250}.{n % 250 + 2}" for n in itertools.count())

    def fail(self, namespace: str, name: str, reason: str, message: str) -> None:
        self.failures[(namespace, name)] = (reason, message)
        self._schedule(DEPLOYMENTS, namespace, name)
        self._schedule(DAEMONSETS, namespace, name)

    def set_ready(self, namespace: str, pod: str, ready: bool) -> None:
        """The outside kubelet's verdict on a pod (its readiness probe passed, or the container died)."""
        (self.ready_pods.add if ready else self.ready_pods.discard)((namespace, pod))
        found = self.cluster.store.get(PODS, namespace, pod)
        for ref in (found or {}).get("metadata", {}).get("ownerReferences") or []:
            if ref.get("kind") == "Deployment":
                self._schedule(DEPLOYMENTS, namespace, ref["name"])

    def _external(self, pod: Obj) -> bool:
        labels = pod["metadata"].get("labels") or {}
        return self.kubelet_labels is not None and all(labels.get(k) == v for k, v in self.kubelet_labels.items())

    def heal(self, namespace: str, name: str) -> None:
        self.failures.pop((namespace, name), None)
        self._schedule(DEPLOYMENTS, namespace, name)
        self._schedule(DAEMONSETS, namespace, name)

    def _on_change(self, change: Change) -> None:
        namespace = change.obj["metadata"].get("namespace", "")
        if change.key in {DEPLOYMENTS, DAEMONSETS}:
            self._schedule(change.key, namespace, change.obj["metadata"]["name"])
        elif change.key == PODS and change.type == "DELETED":
            for ref in change.obj["metadata"].get("ownerReferences") or []:
                owner = {"Deployment": DEPLOYMENTS, "DaemonSet": DAEMONSETS}.get(ref.get("kind", ""))
                if owner and ref.get("controller"):
                    self._schedule(owner, namespace, ref["name"])

    def _schedule(self, key: tuple[str, str], namespace: str, name: str) -> None:
        self._queue((key, namespace, name), self._run, key, namespace, name)

    def _run(self, key: tuple[str, str], namespace: str, name: str) -> None:
        rtype = self.cluster.registry.any_version(*key)
        workload = self.cluster.store.get(key, namespace, name)
        if rtype is None or workload is None or workload["metadata"].get("deletionTimestamp"):
            return  # garbage collection removes the pods of a deleted workload
        # An error here is a refusal such as a terminating namespace: pods can no longer be created there.
        with contextlib.suppress(ApiError):
            self._reconcile(key, workload)

    def _reconcile(self, key: tuple[str, str], workload: Obj) -> None:
        spec = workload.get("spec") or {}
        template = spec.get("template") or {}
        want = int(spec.get("replicas", 1)) if key == DEPLOYMENTS else 1
        label = "pod-template-hash" if key == DEPLOYMENTS else "controller-revision-hash"
        digest = template_hash(template)
        failure = self.failures.get((workload["metadata"].get("namespace", ""), workload["metadata"]["name"]))
        current = self._pods(workload, label, digest, want)
        ready = 0
        for pod in current:
            waiting = (
                self._external(pod)
                and (pod["metadata"].get("namespace", ""), pod["metadata"]["name"]) not in self.ready_pods
            )
            self._pod_status(pod, failure, ready=not waiting)
            ready += failure is None and not waiting
        status = self._status(key, workload, want, ready, f"{workload['metadata']['name']}-{digest}")
        rtype = self.cluster.registry.any_version(*key)
        assert rtype is not None
        self.cluster.write(rtype, {**workload, "status": status}, workload, "status", MANAGER)

    def _pods(self, workload: Obj, label: str, digest: str, want: int) -> list[Obj]:
        """Delete pods of other templates and surplus ones, create missing ones: the pods left."""
        pods_type = self.cluster.registry.builtin("pods")
        md = workload["metadata"]
        namespace, name, uid = md.get("namespace", ""), md["name"], md["uid"]
        owned = [
            p
            for p in self.cluster.store.items(PODS, namespace)
            if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])
        ]
        current = sorted((p for p in owned if p["metadata"].get("labels", {}).get(label) == digest), key=_index)
        for pod in [p for p in owned if p not in current] + current[want:]:
            self.cluster.reaper.delete(pods_type, namespace, pod["metadata"]["name"])
        current = current[:want]
        used = {_index(p) for p in current}
        template = workload["spec"].get("template") or {}
        for index in [i for i in range(want + len(used)) if i not in used][: want - len(current)]:
            labels = {**((template.get("metadata") or {}).get("labels") or {}), label: digest}
            owner = {"apiVersion": workload["apiVersion"], "kind": workload["kind"], "name": name, "uid": uid}
            pod = {
                "metadata": {
                    "name": f"{name}-{digest}-{index}",
                    "labels": labels,
                    "annotations": (template.get("metadata") or {}).get("annotations") or {},
                    "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}],
                },
                "spec": {**copy.deepcopy(template.get("spec") or {}), "nodeName": NODE},
            }
            created = self.cluster.create(pods_type, namespace, pod, MANAGER)
            current.append(self.cluster.find(pods_type, namespace, created["metadata"]["name"]))
        return sorted(current, key=_index)

    def _pod_status(self, pod: Obj, failure: tuple[str, str] | None, ready: bool = True) -> None:
        old = pod.get("status") or {}
        started = pod["metadata"]["creationTimestamp"]
        containers = (pod.get("spec") or {}).get("containers") or []
        names = " ".join(c["name"] for c in containers)
        ip = old.get("podIP") or next(self._ips)
        statuses = []
        for c in containers:
            status: Obj = {"name": c["name"], "image": c.get("image", ""), "restartCount": 0}
            if failure is None:
                image_digest = hashlib.sha256(str(c.get("image")).encode()).hexdigest()
                container_id = hashlib.sha256((pod["metadata"]["uid"] + c["name"]).encode()).hexdigest()
                status.update(
                    imageID=f"{c.get('image', '')}@sha256:{image_digest}",
                    containerID=f"containerd://{container_id}",
                    ready=ready,
                    started=True,
                    state={"running": {"startedAt": started}},
                )
            else:
                reason, message = failure
                crash = reason == "CrashLoopBackOff"
                default = (
                    f"back-off 40s restarting failed container={c['name']} pod={pod['metadata']['name']}"
                    if crash
                    else f'Back-off pulling image "{c.get("image", "")}"'
                )
                status.update(
                    imageID="",
                    ready=False,
                    started=False,
                    state={"waiting": {"reason": reason, "message": message or default}},
                )
                if crash:
                    terminated = {"exitCode": 1, "reason": "Error", "startedAt": started, "finishedAt": started}
                    status.update(restartCount=3, lastState={"terminated": terminated})
            statuses.append(status)
        ok = failure is None and ready
        unready = "" if ok else f"containers with unready status: [{names}]"
        wanted = [
            ("PodReadyToStartContainers", True, "", ""),
            ("Initialized", True, "", ""),
            ("Ready", ok, "" if ok else "ContainersNotReady", unready),
            ("ContainersReady", ok, "" if ok else "ContainersNotReady", unready),
            ("PodScheduled", True, "", ""),
        ]
        phase = "Running" if ok or (failure and failure[0] == "CrashLoopBackOff") else "Pending"
        new = {
            "phase": phase,
            "conditions": [{k: v for k, v in c.items() if v} for c in conditions(old.get("conditions"), wanted)],
            "hostIP": "10.0.0.10",
            "hostIPs": [{"ip": "10.0.0.10"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": started,
            "qosClass": "BestEffort",
            "containerStatuses": statuses,
        }
        if new != old:
            self.cluster.write(self.cluster.registry.builtin("pods"), {**pod, "status": new}, pod, "status", "kubelet")

    def _status(self, key: tuple[str, str], workload: Obj, want: int, ready: int, replica_set: str) -> Obj:
        old = workload.get("status") or {}
        generation = workload["metadata"].get("generation", 1)
        if key == DAEMONSETS:
            daemon = {
                "currentNumberScheduled": 1,
                "desiredNumberScheduled": 1,
                "numberMisscheduled": 0,
                "numberReady": ready,
                "updatedNumberScheduled": 1,
                "numberAvailable": ready,
                "numberUnavailable": 1 - ready,
                "observedGeneration": generation,
            }
            return {k: v for k, v in daemon.items() if v or k in {"numberReady", "numberMisscheduled"}}
        available = ready >= want
        progressed = f'ReplicaSet "{replica_set}" has successfully progressed.'
        wanted = [
            (
                "Available",
                available,
                "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
            ),
            (
                "Progressing",
                True,
                "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
                progressed if available else f'ReplicaSet "{replica_set}" is progressing.',
            ),
        ]
        counts = {
            "replicas": want,
            "updatedReplicas": want,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": want - ready,
        }
        status: Obj = {"observedGeneration": generation, **{k: v for k, v in counts.items() if v}}
        status["conditions"] = conditions(old.get("conditions"), wanted, updated=True)
        return status


def _index(pod: Obj) -> int:
    suffix = pod["metadata"]["name"].rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0
