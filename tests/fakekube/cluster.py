"""The API's semantics, apart from HTTP: what get, list, create, update, patch and apply do to the store.

Every write goes through one pipeline (`write`, its steps in `admission`), as in the real server's registry: the
body is checked against the URL, server-owned metadata is restored (uid, resourceVersion, creationTimestamp…), the
status subresource rule is applied (writes to the main resource cannot change `.status`, writes to `/status`
change nothing else), defaults are filled in or the custom resource is defaulted and pruned, everything is
validated, `generation` moves when the spec moved, field ownership is recorded, and a write that changes nothing is
not stored (no new resourceVersion, no watch event), which keeps controllers from reacting to their own no-op
patches. Deletion, finalizers and garbage collection live in `lifecycle`.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import yaml

from tests.fakekube import apply as ssa
from tests.fakekube import crd, meta
from tests.fakekube.admission import admit, generation_step, restore, unchanged
from tests.fakekube.defaults import NODE, node_labels, node_status
from tests.fakekube.errors import (
    MODIFIED,
    ApiError,
    already_exists,
    bad_request,
    cause,
    conflict,
    forbidden,
    invalid,
    not_found,
    unsupported_media_type,
)
from tests.fakekube.lifecycle import NAMESPACES, Reaper
from tests.fakekube.patch import APPLY, JSON_PATCH, MERGE, STRATEGIC, json_patch, merge_patch
from tests.fakekube.resources import Registry, ResourceType
from tests.fakekube.selectors import field_matcher, label_matcher
from tests.fakekube.store import Store, ns_name

Obj = dict[str, Any]


class Cluster:
    def __init__(self, kube_version: str = "1.33", history: int = 10_000) -> None:
        self.kube_version = kube_version
        self.store = Store(history)
        self.registry = Registry()
        self.reaper = Reaper(self)
        self.pod_logs: dict[tuple[str, str, str], str] = {}
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.registry.builtin("namespaces"), "", {"metadata": {"name": name}}, manager="fakekube")
        nodes = self.registry.builtin("nodes")
        node = self.create(nodes, "", {"metadata": {"name": NODE, "labels": node_labels(NODE)}}, "fakekube")
        self.write(nodes, {**node, "status": node_status(self.kube_version)}, self.find(nodes, "", NODE), "status")

    def present(self, rtype: ResourceType, obj: Obj) -> Obj:
        """An object as served through `rtype`'s version."""
        return {**copy.deepcopy(obj), "apiVersion": rtype.api_version, "kind": rtype.kind}

    def find(self, rtype: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.store.get(rtype.key, namespace, name)
        if obj is None:
            raise not_found(rtype.plural, rtype.group, name)
        return obj

    def get(self, rtype: ResourceType, namespace: str, name: str) -> Obj:
        return self.present(rtype, self.find(rtype, namespace, name))

    def list_objects(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: str = "",
        fields: str = "",
        limit: int = 0,
        cont: str = "",
    ) -> Obj:
        """A list, paged with `limit`/`continue`; built-in items carry no kind/apiVersion, as upstream."""
        by_labels, by_fields = label_matcher(labels), field_matcher(fields, rtype.plural)
        items = [o for o in self.store.items(rtype.key, namespace) if by_labels(o) and by_fields(o)]
        rv = self.store.rv
        if cont:
            try:
                token = json.loads(base64.urlsafe_b64decode(cont))
                rv, after = int(token["rv"]), tuple(token["after"])
            except (ValueError, KeyError, TypeError) as error:
                raise bad_request(f"continue key is not valid: {error}") from error
            items = [o for o in items if ns_name(o) > after]
        metadata: Obj = {"resourceVersion": str(rv)}
        if limit and len(items) > limit:
            token = {"rv": rv, "after": list(ns_name(items[limit - 1]))}
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        shown = [self.present(rtype, o) for o in items]
        if not rtype.custom:
            shown = [{k: v for k, v in o.items() if k not in {"apiVersion", "kind"}} for o in shown]
        return {"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version, "metadata": metadata, "items": shown}

    def _body(self, rtype: ResourceType, namespace: str, data: Any, name: str | None = None) -> Obj:
        """Check a request body against the URL; default its kind, apiVersion, namespace and name from it."""
        if not isinstance(data, dict):
            raise bad_request("the object provided is not a JSON object")
        body: Obj = copy.deepcopy(data)
        if body.setdefault("apiVersion", rtype.api_version) != rtype.api_version:
            raise bad_request(
                f"the API version in the data ({body['apiVersion']}) does not match the expected API version "
                f"({rtype.api_version})"
            )
        if body.setdefault("kind", rtype.kind) != rtype.kind:
            raise bad_request(f'{body["kind"]} in version "{rtype.version}" cannot be handled as a {rtype.kind}')
        md = body.setdefault("metadata", {}) or {}
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        body["metadata"] = md
        if rtype.namespaced:
            if md.get("namespace") and md["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        if name is not None:
            if md.get("name") and md["name"] != name:
                raise bad_request(f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
            md["name"] = name
        return body

    def check_namespace(self, rtype: ResourceType, namespace: str, name: str) -> None:
        if not rtype.namespaced:
            return
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            why = f"unable to create new content in namespace {namespace} because it is being terminated"
            raise forbidden(rtype.plural, rtype.group, name, why)

    def create(
        self, rtype: ResourceType, namespace: str, body: Any, manager: str, dry_run: bool = False, validation: str = ""
    ) -> Obj:
        body = self._body(rtype, namespace, body)
        md = body["metadata"]
        if not md.get("name"):
            if not md.get("generateName"):
                why = cause("metadata.name", "Required value: name or generateName is required", "FieldValueRequired")
                raise invalid(rtype.kind, rtype.group, "", [why])
            md["name"] = meta.generated_name(md["generateName"])
        self.check_namespace(rtype, namespace, md["name"])
        if self.store.get(rtype.key, namespace, md["name"]) is not None:
            raise already_exists(rtype.plural, rtype.group, md["name"])
        return self.write(rtype, body, None, manager=manager, dry_run=dry_run, validation=validation)

    def replace(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        manager: str,
        subresource: str = "",
        dry_run: bool = False,
        validation: str = "",
    ) -> Obj:
        old = self.find(rtype, namespace, name)
        body = self._body(rtype, namespace, body, name)
        rv, uid = body["metadata"].get("resourceVersion"), body["metadata"].get("uid")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name, MODIFIED)
        if not rv and rtype.custom:
            required = cause("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")
            raise invalid(rtype.kind, rtype.group, name, [required])
        if uid and uid != old["metadata"]["uid"]:
            why = f"Precondition failed: UID in precondition: {uid}, UID in object meta: {old['metadata']['uid']}"
            raise conflict(rtype.plural, rtype.group, name, why)
        return self.write(
            rtype, body, old, subresource=subresource, manager=manager, dry_run=dry_run, validation=validation
        )

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        content_type: str,
        manager: str,
        subresource: str = "",
        force: bool = False,
        dry_run: bool = False,
        validation: str = "",
    ) -> tuple[Obj, bool]:
        """Any PATCH: the new object and whether it was created (only server-side apply creates)."""
        kind = content_type.split(";", 1)[0].strip().lower()
        accepted = [JSON_PATCH, MERGE, APPLY] + ([] if rtype.custom else [STRATEGIC])
        if kind not in accepted:
            raise unsupported_media_type(kind, accepted)
        if kind == APPLY:
            return self.apply(rtype, namespace, name, raw, manager, subresource, force, dry_run)
        old = self.find(rtype, namespace, name)
        current = self.present(rtype, old)
        patch = _parse(raw, yaml_too=False)
        new = json_patch(current, patch) if kind == JSON_PATCH else merge_patch(current, _object(patch))
        if not isinstance(new, dict) or (new.get("metadata") or {}).get("resourceVersion") not in {
            None,
            old["metadata"]["resourceVersion"],
        }:
            raise conflict(rtype.plural, rtype.group, name, MODIFIED)
        body = self._body(rtype, namespace, new, name)
        patched = self.write(
            rtype, body, old, subresource=subresource, manager=manager, dry_run=dry_run, validation=validation
        )
        return patched, False

    def apply(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        manager: str,
        subresource: str,
        force: bool,
        dry_run: bool,
    ) -> tuple[Obj, bool]:
        """Server-side apply: create the object from the configuration, or merge the configuration into it."""
        if not manager:
            raise ApiError(422, "Invalid", "PATCH: fieldManager is required for apply requests")
        applied = _object(_parse(raw, yaml_too=True))
        for required in ("apiVersion", "kind"):
            if not applied.get(required):
                raise bad_request(f"{required} must be set in an applied configuration")
        applied = self._body(rtype, namespace, applied, name)
        old = self.store.get(rtype.key, namespace, name)
        if old is None and subresource:
            raise not_found(rtype.plural, rtype.group, name)
        wanted_rv = applied["metadata"].pop("resourceVersion", None)
        if old is not None and wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name, MODIFIED)
        if subresource == "status":
            applied = {"status": applied.get("status") or {}}
        elif rtype.has_status:
            applied.pop("status", None)
        base = self.present(rtype, old) if old is not None else None
        where = (rtype.plural, rtype.group, name)
        merged, managed = ssa.apply(base, applied, manager, force, subresource, rtype.api_version, where)
        if old is None:
            self.check_namespace(rtype, namespace, name)
            return self.write(rtype, merged, None, managed=managed, dry_run=dry_run, applying=True), True
        obj = self.write(rtype, merged, old, subresource=subresource, managed=managed, dry_run=dry_run, applying=True)
        return obj, False

    def write(
        self,
        rtype: ResourceType,
        new: Obj,
        old: Obj | None,
        subresource: str = "",
        manager: str = "",
        managed: list[Obj] | None = None,
        dry_run: bool = False,
        validation: str = "",
        applying: bool = False,
    ) -> Obj:
        """The one pipeline every write goes through (see the module's docstring)."""
        new = restore(rtype, copy.deepcopy(new), old, subresource)
        md = new["metadata"]
        errors = admit(rtype, new, old, self.kube_version, validation, applying)
        if errors:
            raise invalid(rtype.kind, rtype.group, md.get("name", ""), errors)
        if rtype.generation:
            md["generation"] = (
                1 if old is None else old["metadata"].get("generation", 1) + generation_step(rtype, old, new)
            )
        if managed is None:
            managed = ssa.record_update(old, new, manager or "unknown", subresource, rtype.api_version)
        md["managedFields"] = managed
        if not managed:
            del md["managedFields"]
        if old is not None and unchanged(old, new):
            return self.present(rtype, old)
        if dry_run:
            return self.present(rtype, new)
        stored = self.store.put(rtype.key, new)
        if rtype.key == crd.KEY:
            self.registry.set_crd(md["name"], crd.types_of(stored))
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            self.reaper.finalized(rtype, stored)
        return self.present(rtype, stored)

    def pod_log(
        self, namespace: str, pod: str, container: str | None, tail_lines: int | None, limit_bytes: int | None
    ) -> str:
        """The text a test stored for a pod's container (`FakeKube.set_pod_log`): no container ever runs here."""
        obj = self.find(self.registry.builtin("pods"), namespace, pod)
        spec = obj.get("spec") or {}
        names = [c["name"] for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
        if container is None:
            if len(spec.get("containers") or []) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {pod}, choose one of: [{' '.join(names)}]"
                )
            container = names[0]
        elif container not in names:
            raise bad_request(f"container {container} is not valid for pod {pod}")
        text = self.pod_logs.get((namespace, pod, container), "")
        if tail_lines is not None:
            text = "".join(text.splitlines(keepends=True)[-tail_lines:] if tail_lines > 0 else [])
        return text[:limit_bytes] if limit_bytes else text


def _parse(raw: bytes, yaml_too: bool) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        if not yaml_too:
            raise bad_request(f"error decoding patch: {error}") from error
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise bad_request(f"error decoding YAML: {error}") from error


def _object(value: Any) -> Obj:
    if not isinstance(value, dict):
        raise bad_request("the patch must be a JSON/YAML object")
    return value
