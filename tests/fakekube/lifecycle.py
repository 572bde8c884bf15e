"""Deletion as the real server and its controllers perform it: finalizers, owner-reference garbage collection,
namespace termination, and the removal of a CRD's objects with the CRD.

- An object with finalizers is only marked (`deletionTimestamp`) and goes when a later write empties them.
- When an object goes, its dependents (ownerReferences to its uid, in its namespace, or anywhere for a
  cluster-scoped owner) are deleted too (Background, Foreground) or released (Orphan); a dependent with another
  living owner only loses the reference. The real garbage collector does this asynchronously; here it happens
  before the DELETE returns, which makes tests deterministic. Foreground deletes dependents first but does not
  wait for their finalizers.
- A namespace becomes Terminating, its content is deleted, and it goes once empty. Pods go at once (no grace
  period: nothing runs).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tests.fakekube import crd, meta
from tests.fakekube.errors import conflict, forbidden
from tests.fakekube.resources import ResourceType
from tests.fakekube.store import ns_name

if TYPE_CHECKING:
    from tests.fakekube.cluster import Cluster

NAMESPACES = ("", "namespaces")
PROTECTED = frozenset({"default", "kube-system", "kube-public"})
RETURN_DELETED = frozenset({("", "pods"), ("", "services"), ("", "serviceaccounts"), NAMESPACES})
"""Kinds whose DELETE answers with the object even when it is gone (`ReturnDeletedObject` upstream)."""
Obj = dict[str, Any]


class Reaper:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self._policies: dict[str, str] = {}

    def delete(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        propagation: str = "",
        preconditions: Obj | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """DELETE: the object (as last seen) and whether it is gone (False: only marked for deletion)."""
        obj = self.cluster.find(rtype, namespace, name)
        md = obj["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = (preconditions or {}).get(field)
            if wanted and wanted != md[field]:
                why = f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {md[field]}"
                raise conflict(rtype.plural, rtype.group, name, why)
        if rtype.key == NAMESPACES and name in PROTECTED:
            raise forbidden("namespaces", "", name, "this namespace may not be deleted")
        if dry_run:
            return self.cluster.present(rtype, obj), True
        if md.get("deletionTimestamp"):
            return self.cluster.present(rtype, obj), False
        policy = propagation or "Background"
        if rtype.key == NAMESPACES:
            return self._terminate(rtype, obj), False
        if md.get("finalizers"):
            self._policies[md["uid"]] = policy
            return self._mark(rtype, obj), False
        return self.remove(rtype, obj, policy), True

    def answer(self, rtype: ResourceType, obj: Obj, gone: bool) -> Obj:
        """What DELETE returns: the object, except for most kinds once gone: a Status of success."""
        if not gone or rtype.key in RETURN_DELETED:
            return obj
        md = obj["metadata"]
        details = {"name": md["name"], "group": rtype.group, "kind": rtype.plural, "uid": md["uid"]}
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
        return status | {"details": {k: v for k, v in details.items() if v}}

    def _mark(self, rtype: ResourceType, obj: Obj, **changes: Any) -> Obj:
        marked = copy.deepcopy(obj)
        marked["metadata"].update(deletionTimestamp=meta.now(), deletionGracePeriodSeconds=0)
        marked.update(changes)
        return self.cluster.present(rtype, self.store.put(rtype.key, marked))

    def finalized(self, rtype: ResourceType, obj: Obj) -> None:
        """A write emptied the finalizers of an object being deleted: it goes now (a namespace, once empty)."""
        if rtype.key == NAMESPACES:
            self._finish_namespace(obj["metadata"]["name"])
        else:
            self.remove(rtype, obj)

    def remove(self, rtype: ResourceType, obj: Obj, policy: str = "") -> Obj:
        """Remove an object for good, then collect its dependents and maybe finish its namespace."""
        policy = policy or self._policies.pop(obj["metadata"]["uid"], "Background")
        if policy == "Foreground":
            self._collect(obj, "Background")
        gone = self.store.remove(rtype.key, obj)
        if rtype.key == crd.KEY:
            self._drop_custom_resources(gone)
        if policy != "Foreground":
            self._collect(obj, policy)
        if gone["metadata"].get("namespace"):
            self._finish_namespace(gone["metadata"]["namespace"])
        return self.cluster.present(rtype, gone)

    def _collect(self, owner: Obj, policy: str) -> None:
        uid = owner["metadata"]["uid"]
        for key, dependent in self.store.dependents(uid, owner["metadata"].get("namespace") or None):
            namespace, name = ns_name(dependent)
            current = self.store.get(key, namespace, name)
            dtype = self.cluster.registry.any_version(*key)
            if current is None or dtype is None:
                continue  # already collected through another path, or its CRD is gone
            refs = current["metadata"].get("ownerReferences") or []
            alive = [r for r in refs if r.get("uid") != uid and self.store.exists(str(r.get("uid")))]
            if policy == "Orphan" or alive:
                released = copy.deepcopy(current)
                released["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                if not released["metadata"]["ownerReferences"]:
                    del released["metadata"]["ownerReferences"]
                self.cluster.write(dtype, released, current, manager="generic-garbage-collector", validation="Ignore")
            elif not current["metadata"].get("deletionTimestamp"):
                self.delete(dtype, namespace, name, propagation="Background")

    def _terminate(self, rtype: ResourceType, namespace: Obj) -> Obj:
        name = namespace["metadata"]["name"]
        marked = self._mark(rtype, namespace, status={"phase": "Terminating"})
        for key, obj in self.store.in_namespace(name):
            dtype = self.cluster.registry.any_version(*key)
            current = self.store.get(key, name, obj["metadata"]["name"])
            if dtype is not None and current is not None and not current["metadata"].get("deletionTimestamp"):
                self.delete(dtype, name, obj["metadata"]["name"])
        self._finish_namespace(name)
        return marked

    def _finish_namespace(self, name: str) -> None:
        namespace = self.store.get(NAMESPACES, "", name)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        if not namespace["metadata"].get("finalizers") and not self.store.in_namespace(name):
            self.remove(self.cluster.registry.builtin("namespaces"), namespace)

    def _drop_custom_resources(self, definition: Obj) -> None:
        """A CRD's objects go with it (the real server waits for their finalizers; here they are dropped)."""
        spec = definition["spec"]
        key = (spec["group"], spec["names"]["plural"])
        rtype = self.cluster.registry.any_version(*key)
        if rtype is not None:
            for obj in list(self.store.items(key)):
                if self.store.get(key, *ns_name(obj)) is not None:
                    self.remove(rtype, obj, "Background")
        self.cluster.registry.drop_crd(definition["metadata"]["name"])

    def delete_collection(
        self, rtype: ResourceType, namespace: str | None, labels: str, fields: str, propagation: str, dry_run: bool
    ) -> Obj:
        """DELETE on a collection: every matching object, deleted one by one; the list of what was deleted."""
        deleted = []
        for item in self.cluster.list_objects(rtype, namespace, labels, fields)["items"]:
            where = (item["metadata"].get("namespace") or "", item["metadata"]["name"])
            if self.store.get(rtype.key, *where) is not None:
                deleted.append(self.delete(rtype, *where, propagation=propagation, dry_run=dry_run)[0])
        return {"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version, "metadata": {}, "items": deleted}
