"""The fake API server, driven by the real kubernetes client (typed, dynamic, watch) and by a real kopf operator.

Each test asserts what a real API server would answer, so that code tested against the fake behaves the same
against a cluster: codes and reasons of errors, resourceVersion and generation, selectors, watch events,
subresources, finalizers, garbage collection, validation, pruning.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError

from tests.conftest import REPO
from tests.fakekube import FakeKube
from tests.fakekube.conftest import widget_crd

GROUP, VERSION, PLURAL = "fakekube.test", "v1", "widgets"


def status_of(error: ApiException | DynamicApiError) -> dict[str, Any]:
    """The Status object the server sent with an error."""
    return dict(json.loads(error.body))


def raw(
    fake: FakeKube, path: str, method: str = "GET", body: Any = None, content_type: str = "application/json"
) -> Any:
    """One plain HTTP request (for what the client libraries hide): (code, parsed JSON or text)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(fake.base_url + path, data=data, method=method)
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            code = response.status
    except urllib.error.HTTPError as error:
        with error:
            text, code = error.read().decode(), error.code
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text


def watch_lines(fake: FakeKube, path: str) -> list[dict[str, Any]]:
    """A whole watch stream (the path must bound it with timeoutSeconds), one parsed event per line."""
    with urllib.request.urlopen(fake.base_url + path, timeout=15) as response:
        return [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until `check()` is truthy (the workload simulation and kopf act after a short delay)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def config_map(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name} | ({"labels": labels} if labels else {})
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def deployment(name: str, replicas: int = 1, image: str = "nginx:1.27", **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}},
            **spec,
        },
    }


# --- discovery and connection ---------------------------------------------------------------------------------


def test_kubeconfig_version_and_discovery(api: kubernetes.client.ApiClient, kubeconfig: Path) -> None:
    loaded = yaml.safe_load(kubeconfig.read_text())
    assert loaded["current-context"] == "fake" and loaded["users"][0]["user"]["token"]
    assert kubernetes.client.VersionApi(api).get_code().git_version.startswith("v1.33.")
    assert kubernetes.client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {g.name: g.preferred_version.version for g in kubernetes.client.ApisApi(api).get_api_versions().groups}
    assert groups["apps"] == "v1" and groups["apiextensions.k8s.io"] == "v1" and "" not in groups
    resources = {r.name: r for r in kubernetes.client.CoreV1Api(api).get_api_resources().resources}
    assert not resources["namespaces"].namespaced and resources["pods"].namespaced
    assert resources["pods/log"].verbs == ["get"] and "watch" in resources["configmaps"].verbs
    assert resources["services"].short_names == ["svc"]
    (node,) = kubernetes.client.CoreV1Api(api).list_node().items  # a cluster has a node; simulated pods "run" there
    assert {c.type: c.status for c in node.status.conditions} == {"Ready": "True"}


def test_errors_are_status_objects(fake: FakeKube) -> None:
    code, body = raw(fake, "/api/v1/nothings")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    code, body = raw(fake, "/api/v1/namespaces/default/configmaps/x", "POST", {})
    assert (code, body["reason"]) == (405, "MethodNotAllowed")
    code, body = raw(fake, "/api/v1/namespaces/default/configmaps", "POST", b"{not json")
    assert (code, body["reason"]) == (400, "BadRequest")
    code, body = raw(fake, "/api/v1/namespaces/default/configmaps", "POST", config_map("x") | {"kind": "Secret"})
    assert code == 400 and "cannot be handled as a ConfigMap" in body["message"]
    code, _ = raw(fake, "/apis/apps/v1/namespaces/default/deployments/x/scale")
    assert code == 404


# --- CRUD, metadata, validation of built-ins ---------------------------------------------------------------------


def test_crud_and_server_metadata(core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("default", config_map("settings", a="1"))
    meta = created.metadata
    assert meta.namespace == "default" and meta.uid and meta.creation_timestamp
    assert meta.generation is None  # as upstream: only kinds with a spec/status split have one
    assert int(meta.resource_version) > 0
    assert core.read_namespaced_config_map("settings", "default").data == {"a": "1"}
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map("default", config_map("settings"))
    assert error.value.status == 409 and status_of(error.value)["reason"] == "AlreadyExists"
    assert status_of(error.value)["message"] == 'configmaps "settings" already exists'

    created.data = {"a": "2"}
    replaced = core.replace_namespaced_config_map("settings", "default", created)
    assert replaced.data == {"a": "2"} and int(replaced.metadata.resource_version) > int(meta.resource_version)
    assert replaced.metadata.uid == meta.uid

    generated = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}, "data": {}})
    assert generated.metadata.name.startswith("gen-") and len(generated.metadata.name) == 9

    items = core.list_namespaced_config_map("default").items
    assert [cm.metadata.name for cm in items] == sorted([generated.metadata.name, "settings"])
    core.delete_namespaced_config_map("settings", "default")
    with pytest.raises(ApiException) as error:
        core.read_namespaced_config_map("settings", "default")
    assert status_of(error.value) | {"details": None} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "settings" not found',
        "reason": "NotFound",
        "code": 404,
        "details": None,
    }


def test_resource_version_conflict(core: kubernetes.client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("default", config_map("cm", a="1"))
    core.patch_namespaced_config_map("cm", "default", {"data": {"a": "2"}})
    first.data = {"a": "3"}
    with pytest.raises(ApiException) as error:
        core.replace_namespaced_config_map("cm", "default", first)
    assert error.value.status == 409 and status_of(error.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(error.value)["message"]
    with pytest.raises(ApiException) as error:  # a resourceVersion in a merge patch is a precondition too
        core.patch_namespaced_config_map("cm", "default", {"metadata": {"resourceVersion": "1"}, "data": {"a": "4"}})
    assert error.value.status == 409


def test_namespace_must_exist_and_names_must_be_valid(core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map("nowhere", config_map("cm"))
    assert error.value.status == 404 and status_of(error.value)["message"] == 'namespaces "nowhere" not found'
    bad = [
        (lambda: core.create_namespaced_config_map("default", config_map("Bad_Name")), "RFC 1123 subdomain"),
        (lambda: core.create_namespace({"metadata": {"name": "a.b"}}), "RFC 1123 label"),
        (
            lambda: core.create_namespaced_service(
                "default", {"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}
            ),
            "DNS-1035 label",
        ),
        (lambda: core.create_namespaced_config_map("default", config_map("cm", {"app": "two words"})), "valid label"),
        (lambda: core.create_namespaced_config_map("default", {"metadata": {}}), "name or generateName is required"),
    ]
    for call, expected in bad:
        with pytest.raises(ApiException) as error:
            call()
        assert error.value.status == 422 and status_of(error.value)["reason"] == "Invalid", expected
        assert expected in status_of(error.value)["message"]


def test_builtin_schema_validation(dyn: DynamicClient) -> None:
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = deployment("web")
    body["spec"]["replica"] = 2  # misspelt
    with pytest.raises(DynamicApiError) as error:
        deployments.create(body=body, namespace="default")
    status = status_of(error.value)
    assert (error.value.status, status["reason"]) == (422, "Invalid")
    assert status["message"] == 'Deployment.apps "web" is invalid: spec.replica: unknown field "spec.replica"'
    assert status["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": 'unknown field "spec.replica"', "field": "spec.replica"}
    ]
    # Ignore/Warn drop the unknown field, as a real server does.
    created = deployments.create(body=body, namespace="default", query_params=[("fieldValidation", "Ignore")])
    assert "replica" not in created.to_dict()["spec"]

    missing = deployment("web2")
    del missing["spec"]["selector"]
    with pytest.raises(DynamicApiError) as error:
        deployments.create(body=missing, namespace="default")
    assert "spec.selector: Required value" in status_of(error.value)["message"]
    mismatched = deployment("web3")
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(DynamicApiError) as error:
        deployments.create(body=mismatched, namespace="default")
    assert "`selector` does not match template `labels`" in status_of(error.value)["message"]


def test_builtin_defaults(core: kubernetes.client.CoreV1Api) -> None:
    service = core.create_namespaced_service(
        "default", {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert service.spec.cluster_ip.startswith("10.96.") and service.spec.type == "ClusterIP"
    assert service.spec.ports[0].protocol == "TCP" and service.spec.ports[0].target_port == 80
    secret = core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"key": "value"}})
    assert secret.data == {"key": "dmFsdWU="} and secret.string_data is None and secret.type == "Opaque"
    namespace = core.create_namespace({"metadata": {"name": "team"}})
    assert namespace.status.phase == "Active" and namespace.metadata.labels["kubernetes.io/metadata.name"] == "team"
    dry = core.create_namespaced_config_map("default", config_map("dry"), dry_run="All")
    assert dry.metadata.name == "dry" and not core.list_namespaced_config_map("default").items


def test_pull_secrets_must_carry_docker_config_json(core: kubernetes.client.CoreV1Api) -> None:
    pull = {"metadata": {"name": "pull"}, "type": "kubernetes.io/dockerconfigjson"}
    for data in ({}, {".dockerconfigjson": "not json"}):
        with pytest.raises(ApiException) as error:
            core.create_namespaced_secret("default", {**pull, "stringData": data})
        assert error.value.status == 422 and "data[.dockerconfigjson]" in error.value.body
    made = core.create_namespaced_secret("default", {**pull, "stringData": {".dockerconfigjson": '{"auths": {}}'}})
    assert made.type == "kubernetes.io/dockerconfigjson"


# --- patches and server-side apply ------------------------------------------------------------------------------


def test_merge_json_and_strategic_patches(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", config_map("cm", {"keep": "yes"}, a="1", b="2"))
    patched = core.patch_namespaced_config_map(
        "cm", "default", {"data": {"a": None, "c": "3"}}, _content_type="application/merge-patch+json"
    )
    assert patched.data == {"b": "2", "c": "3"} and patched.metadata.labels == {"keep": "yes"}
    patched = core.patch_namespaced_config_map(  # the client sends a dict as a strategic merge patch
        "cm", "default", {"metadata": {"labels": {"new": "1"}}}
    )
    assert patched.metadata.labels == {"keep": "yes", "new": "1"}
    rv = patched.metadata.resource_version
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/data/d", "value": "4"},
        {"op": "remove", "path": "/data/b"},
    ]
    patched = core.patch_namespaced_config_map("cm", "default", ops)
    assert patched.data == {"c": "3", "d": "4"}
    with pytest.raises(ApiException) as error:  # kopf relies on a failed test being a 422
        core.patch_namespaced_config_map("cm", "default", ops)
    assert error.value.status == 422
    unchanged = core.patch_namespaced_config_map("cm", "default", {"data": {"c": "3"}})
    assert unchanged.metadata.resource_version == patched.metadata.resource_version  # a no-op stores nothing


def test_server_side_apply(dyn: DynamicClient, fake: FakeKube) -> None:
    maps = dyn.resources.get(api_version="v1", kind="ConfigMap")

    def apply(body: dict[str, Any], manager: str = "mlk", **kwargs: Any) -> Any:
        return maps.server_side_apply(body=body, namespace="default", field_manager=manager, **kwargs)

    created = apply(config_map("cm", {"app": "x", "tier": "web"}, a="1", b="2"))
    assert created.data.to_dict() == {"a": "1", "b": "2"}
    entry = created.metadata.managedFields[0]
    assert (entry.manager, entry.operation) == ("mlk", "Apply")
    assert entry.fieldsV1.to_dict() == {
        "f:data": {"f:a": {}, "f:b": {}},
        "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
    }
    maps.patch(
        name="cm", namespace="default", body={"data": {"other": "z"}}, content_type="application/merge-patch+json"
    )
    merged = apply(config_map("cm", {"app": "x"}, a="10"))  # b and tier were mine: dropped; "other" is not mine
    assert merged.data.to_dict() == {"a": "10", "other": "z"} and merged.metadata.labels.to_dict() == {"app": "x"}

    with pytest.raises(DynamicApiError) as error:
        apply(config_map("cm", a="20"), manager="intruder")
    status = status_of(error.value)
    assert (error.value.status, status["reason"]) == (409, "Conflict")
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "mlk" using v1: .data.a'
    forced = apply(config_map("cm", a="20"), manager="intruder", force_conflicts=True)
    assert forced.data.a == "20"
    owners = {(e.manager, e.operation): e.fieldsV1.to_dict() for e in forced.metadata.managedFields}
    assert owners[("intruder", "Apply")] == {"f:data": {"f:a": {}}}
    assert owners[("mlk", "Apply")] == {"f:metadata": {"f:labels": {"f:app": {}}}}  # a moved to the intruder
    code, body = raw(
        fake, "/api/v1/namespaces/default/configmaps/cm", "PATCH", config_map("cm"), "application/apply-patch+yaml"
    )
    assert code == 422 and "fieldManager is required" in body["message"]
    code, body = raw(
        fake,
        "/api/v1/namespaces/default/configmaps/y?fieldManager=me",
        "PATCH",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n",
        "application/apply-patch+yaml",
    )
    assert code == 201 and body["data"] == {"k": "v"}


# --- lists and selectors ----------------------------------------------------------------------------------------


def test_label_and_field_selectors_and_paging(core: kubernetes.client.CoreV1Api, fake: FakeKube) -> None:
    for name, labels in [("a", {"env": "prod", "tier": "web"}), ("b", {"env": "dev"}), ("c", {"tier": "db"})]:
        core.create_namespaced_config_map("default", config_map(name, labels))

    def names(**kwargs: Any) -> list[str]:
        return [cm.metadata.name for cm in core.list_namespaced_config_map("default", **kwargs).items]

    assert names(label_selector="env=prod") == ["a"]
    assert names(label_selector="env!=prod") == ["b", "c"]
    assert names(label_selector="env in (prod,dev)") == ["a", "b"]
    assert names(label_selector="env notin (prod)") == ["b", "c"]
    assert names(label_selector="tier") == ["a", "c"]
    assert names(label_selector="!tier") == ["b"]
    assert names(label_selector="env=prod,tier=web") == ["a"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b") == ["a", "c"]
    for bad in ({"label_selector": "env in prod"}, {"field_selector": "spec.foo=1"}):
        with pytest.raises(ApiException) as error:
            names(**bad)
        assert error.value.status == 400
    page = core.list_namespaced_config_map("default", limit=2)
    assert [cm.metadata.name for cm in page.items] == ["a", "b"] and page.metadata.remaining_item_count == 1
    rest = core.list_namespaced_config_map("default", limit=2, _continue=page.metadata._continue)
    assert [cm.metadata.name for cm in rest.items] == ["c"] and not rest.metadata._continue
    everywhere = core.list_config_map_for_all_namespaces(label_selector="env")
    assert {cm.metadata.namespace for cm in everywhere.items} == {"default"}
    _, listed = raw(fake, "/api/v1/namespaces/default/configmaps")
    assert "kind" not in listed["items"][0] and listed["kind"] == "ConfigMapList"  # as upstream, for built-ins


# --- watch ------------------------------------------------------------------------------------------------------


def test_watch_with_the_client(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", config_map("before"))
    seen: list[tuple[str, str]] = []
    started = threading.Event()
    watcher = kubernetes.watch.Watch()

    def run() -> None:
        started.set()
        for event in watcher.stream(core.list_namespaced_config_map, "default", timeout_seconds=10):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                watcher.stop()

    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    eventually(lambda: seen)  # the synthetic ADDED of what exists: the watch is open
    core.create_namespaced_config_map("default", config_map("cm"))
    core.patch_namespaced_config_map("cm", "default", {"data": {"a": "1"}})
    core.delete_namespaced_config_map("cm", "default")
    thread.join(10)
    assert not thread.is_alive()
    assert seen == [("ADDED", "before"), ("ADDED", "cm"), ("MODIFIED", "cm"), ("DELETED", "cm")]


def test_watch_from_a_resource_version_with_selectors(core: kubernetes.client.CoreV1Api, fake: FakeKube) -> None:
    core.create_namespaced_config_map("default", config_map("old", {"app": "x"}))
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", config_map("new", {"app": "x"}))
    core.create_namespaced_config_map("default", config_map("other", {"app": "y"}))
    core.patch_namespaced_config_map("old", "default", {"metadata": {"labels": {"app": "gone"}}})
    core.patch_namespaced_config_map("other", "default", {"metadata": {"labels": {"app": "x"}}})
    events = watch_lines(
        fake,
        f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&labelSelector=app%3Dx&timeoutSeconds=1",
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "new"),
        ("DELETED", "old"),  # stopped matching the selector
        ("ADDED", "other"),  # started matching it
    ]
    assert all(e["object"]["kind"] == "ConfigMap" for e in events)  # watch events always carry kind


def test_watch_bookmarks_initial_events_and_expiry(core: kubernetes.client.CoreV1Api, fake: FakeKube) -> None:
    core.create_namespaced_config_map("default", config_map("cm"))
    events = watch_lines(fake, "/api/v1/configmaps?watch=true&sendInitialEvents=true&timeoutSeconds=1")
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    rv = events[0]["object"]["metadata"]["resourceVersion"]
    fake.compact()
    events = watch_lines(fake, f"/api/v1/configmaps?watch=true&resourceVersion={int(rv) - 1}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["code"], e["object"]["reason"]) for e in events] == [("ERROR", 410, "Expired")]


def test_watch_sends_bookmarks_when_idle() -> None:
    with FakeKube(bookmark_every=0.2) as fake:
        start = time.monotonic()
        events = watch_lines(
            fake, "/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=1"
        )
        assert 0.9 < time.monotonic() - start < 3  # ended by timeoutSeconds
    assert events and {e["type"] for e in events} == {"BOOKMARK"}
    assert set(events[0]["object"]) == {"kind", "apiVersion", "metadata"}


# --- custom resources -------------------------------------------------------------------------------------------


def test_crd_discovery_and_status_subresource(
    api: kubernetes.client.ApiClient, widgets: kubernetes.client.CustomObjectsApi, fake: FakeKube
) -> None:
    extensions = kubernetes.client.ApiextensionsV1Api(api)
    crd = extensions.read_custom_resource_definition("widgets.fakekube.test")
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.accepted_names.kind == "Widget" and crd.status.stored_versions == ["v1"]
    resources = {r["name"]: r for r in raw(fake, "/apis/fakekube.test/v1")[1]["resources"]}
    assert resources["widgets"]["shortNames"] == ["wd"] and resources["widgets"]["namespaced"]
    assert resources["widgets/status"]["verbs"] == ["get", "patch", "update"]

    body = {"apiVersion": "fakekube.test/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    created = widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body | {"status": {"x": 1}})
    assert "status" not in created and created["metadata"]["generation"] == 1  # status is reset on create
    patched = widgets.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", {"status": {"phase": "Ready"}, "spec": {"size": 9}}
    )
    assert patched["status"] == {"phase": "Ready"} and patched["spec"]["size"] == 1  # /status changes status only
    assert patched["metadata"]["generation"] == 1
    patched = widgets.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": 2}, "status": {"phase": "Lost"}}
    )
    assert patched["status"] == {"phase": "Ready"} and patched["spec"]["size"] == 2  # the main resource: no status
    assert patched["metadata"]["generation"] == 2
    got = widgets.get_namespaced_custom_object_status(GROUP, VERSION, "default", PLURAL, "w")
    assert got["status"] == {"phase": "Ready"}
    with pytest.raises(ApiException) as error:  # custom resources refuse strategic merge patches, as upstream
        widgets.patch_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "w", {"spec": {}}, _content_type="application/strategic-merge-patch+json"
        )
    assert error.value.status == 415
    with pytest.raises(ApiException) as error:  # an update of a custom resource must name its resourceVersion
        widgets.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w", body)
    assert error.value.status == 422

    extensions.delete_custom_resource_definition("widgets.fakekube.test")
    assert raw(fake, "/apis/fakekube.test/v1")[0] == 404
    assert fake.objects(PLURAL, group=GROUP) == []


def test_custom_resource_validation_defaults_and_pruning(
    widgets: kubernetes.client.CustomObjectsApi, dyn: DynamicClient
) -> None:
    def create(spec: dict[str, Any], name: str = "w", **kwargs: Any) -> dict[str, Any]:
        body = {"apiVersion": "fakekube.test/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}
        return dict(widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body, **kwargs))

    for spec, message in [
        ({"size": "big"}, 'spec.size: Invalid value: "str": spec.size in body must be of type integer: "big"'),
        ({"size": 0}, "spec.size: Invalid value: 0: spec.size in body 0 is less than the minimum of 1"),
        ({}, "spec.size: Required value"),
        ({"size": 1, "color": "green"}, 'spec.color: Unsupported value: "green": supported values: "blue", "red"'),
    ]:
        with pytest.raises(ApiException) as error:
            create(spec)
        assert error.value.status == 422
        assert status_of(error.value)["message"] == f'Widget.fakekube.test "w" is invalid: {message}'

    created = create({"size": 2, "port": "http", "unknown": 1, "extra": {"free": {"form": True}}})
    assert created["spec"] == {"size": 2, "port": "http", "color": "blue", "extra": {"free": {"form": True}}}
    assert create({"size": 2, "port": 8080}, name="w2")["spec"]["port"] == 8080
    with pytest.raises(ApiException) as error:
        create({"size": 2, "unknown": 1}, name="w3", field_validation="Strict")
    assert ".spec.unknown: field not declared in schema" in status_of(error.value)["message"]
    resource = dyn.resources.get(api_version="fakekube.test/v1", kind="Widget")
    applied = {"apiVersion": "fakekube.test/v1", "kind": "Widget", "metadata": {"name": "w4", "labels": {"a": "b"}}}
    created = resource.server_side_apply(body=applied | {"spec": {"size": 1}}, namespace="default", field_manager="mlk")
    assert created.metadata.labels.a == "b" and created.spec.color == "blue"
    with pytest.raises(DynamicApiError) as dyn_error:  # server-side apply always refuses undeclared fields
        resource.server_side_apply(
            body=applied | {"spec": {"size": 1, "x": 1}}, namespace="default", field_manager="mlk"
        )
    assert (
        dyn_error.value.status == 422
        and ".spec.x: field not declared in schema" in status_of(dyn_error.value)["message"]
    )


def test_cluster_scoped_custom_resources(api: kubernetes.client.ApiClient, fake: FakeKube) -> None:
    crd = widget_crd(scope="Cluster", status=False)
    kubernetes.client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)  # type: ignore[arg-type]
    objects = kubernetes.client.CustomObjectsApi(api)
    body = {"apiVersion": "fakekube.test/v1", "kind": "Widget", "metadata": {"name": "global"}, "spec": {"size": 1}}
    created = objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body | {"status": {"kept": True}})
    assert "namespace" not in created["metadata"] and created["status"] == {"kept": True}  # no status subresource
    assert objects.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"][0]["metadata"]["name"] == "global"
    assert raw(fake, "/apis/fakekube.test/v1/namespaces/default/widgets")[0] == 404
    assert raw(fake, "/apis/fakekube.test/v1/widgets/global/status")[0] == 404


def test_crd_versions_and_status_apply(api: kubernetes.client.ApiClient, fake: FakeKube) -> None:
    crd = widget_crd()
    beta = json.loads(json.dumps(crd["spec"]["versions"][0])) | {"name": "v1beta1", "storage": False}
    crd["spec"]["versions"].append(beta)
    kubernetes.client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)  # type: ignore[arg-type]
    groups = {g["name"]: g for g in raw(fake, "/apis")[1]["groups"]}
    assert groups[GROUP]["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in groups[GROUP]["versions"]] == ["v1", "v1beta1"]
    objects = kubernetes.client.CustomObjectsApi(api)
    body = {"apiVersion": "fakekube.test/v1beta1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    objects.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    assert objects.get_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "w")["apiVersion"] == "fakekube.test/v1"

    status = {"apiVersion": "fakekube.test/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"phase": "Up"}}
    applied = objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", status, field_manager="op", _content_type="application/apply-patch+yaml"
    )
    assert applied["status"] == {"phase": "Up"}
    entry = next(e for e in applied["metadata"]["managedFields"] if e["manager"] == "op")
    assert (entry["operation"], entry["subresource"], entry["fieldsV1"]) == (
        "Apply",
        "status",
        {"f:status": {"f:phase": {}}},
    )
    labelled = objects.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 1  # metadata is not spec


# --- deletion ---------------------------------------------------------------------------------------------------


def test_finalizers(core: kubernetes.client.CoreV1Api, fake: FakeKube) -> None:
    core.create_namespaced_config_map(
        "default", config_map("cm") | {"metadata": {"name": "cm", "finalizers": ["x.io/hold"]}}
    )
    code, marked = raw(fake, "/api/v1/namespaces/default/configmaps/cm", "DELETE")
    assert code == 200 and marked["metadata"]["deletionTimestamp"]  # marked, not gone: the object comes back
    assert core.read_namespaced_config_map("cm", "default").metadata.deletion_timestamp
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_config_map("cm", "default", {"metadata": {"finalizers": ["x.io/hold", "x.io/more"]}})
    assert error.value.status == 422 and "no new finalizers" in status_of(error.value)["message"]
    core.patch_namespaced_config_map("cm", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as error:
        core.read_namespaced_config_map("cm", "default")
    assert error.value.status == 404
    core.create_namespaced_config_map("default", config_map("plain"))
    code, gone = raw(fake, "/api/v1/namespaces/default/configmaps/plain", "DELETE")
    assert (code, gone["kind"], gone["status"], gone["details"]["name"]) == (200, "Status", "Success", "plain")


def test_owner_reference_garbage_collection(core: kubernetes.client.CoreV1Api) -> None:
    def owned_by(*owners: Any) -> list[dict[str, Any]]:
        return [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": o.metadata.name, "uid": o.metadata.uid} for o in owners
        ]

    def make(name: str, *owners: Any) -> Any:
        return core.create_namespaced_config_map(
            "default", {"metadata": {"name": name, "ownerReferences": owned_by(*owners)}}
        )

    root, other = make("root"), make("other")
    child = make("child", root)
    make("grandchild", child)
    make("shared", root, other)
    core.create_namespaced_secret("default", {"metadata": {"name": "secret", "ownerReferences": owned_by(root)}})
    core.delete_namespaced_config_map("root", "default")
    assert sorted(cm.metadata.name for cm in core.list_namespaced_config_map("default").items) == ["other", "shared"]
    assert core.read_namespaced_config_map("shared", "default").metadata.owner_references[0].name == "other"
    assert core.list_namespaced_secret("default").items == []

    parent = make("parent", other)
    make("kid", parent)
    core.delete_namespaced_config_map("parent", "default", propagation_policy="Foreground")
    assert sorted(cm.metadata.name for cm in core.list_namespaced_config_map("default").items) == ["other", "shared"]

    orphan = make("orphan", other)
    core.delete_namespaced_config_map("other", "default", propagation_policy="Orphan")
    assert core.read_namespaced_config_map("orphan", "default").metadata.owner_references is None
    assert orphan.metadata.uid == core.read_namespaced_config_map("orphan", "default").metadata.uid


def test_namespace_termination(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_config_map("team", config_map("plain"))
    core.create_namespaced_config_map("team", {"metadata": {"name": "held", "finalizers": ["x.io/hold"]}})
    core.delete_namespace("team")
    assert core.read_namespace("team").status.phase == "Terminating"
    assert [cm.metadata.name for cm in core.list_namespaced_config_map("team").items] == ["held"]
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map("team", config_map("late"))
    assert error.value.status == 403 and "being terminated" in status_of(error.value)["message"]
    core.patch_namespaced_config_map("held", "team", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as error:
        core.read_namespace("team")
    assert error.value.status == 404
    with pytest.raises(ApiException) as error:
        core.delete_namespace("default")
    assert error.value.status == 403


def test_delete_collection(core: kubernetes.client.CoreV1Api) -> None:
    for name, app in [("a", "x"), ("b", "x"), ("c", "y")]:
        core.create_namespaced_config_map("default", config_map(name, {"app": app}))
    core.delete_collection_namespaced_config_map("default", label_selector="app=x")
    assert [cm.metadata.name for cm in core.list_namespaced_config_map("default").items] == ["c"]


# --- pods, logs and the workload simulation ---------------------------------------------------------------------


def test_pod_logs(core: kubernetes.client.CoreV1Api, fake: FakeKube) -> None:
    containers = [{"name": "main", "image": "app:1"}, {"name": "sidecar", "image": "proxy:1"}]
    pod = core.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": {"containers": containers}})
    assert pod.status.phase == "Pending"
    fake.set_pod_log("default", "p", "main", "one\ntwo\nthree\n")
    assert core.read_namespaced_pod_log("p", "default", container="main") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("p", "default", container="main", tail_lines=1) == "three\n"
    assert core.read_namespaced_pod_log("p", "default", container="sidecar") == ""
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log("p", "default")
    assert error.value.status == 400 and "choose one of: [main sidecar]" in status_of(error.value)["message"]


@pytest.mark.parametrize("fake", [{"simulate_workloads": True}], indirect=True, ids=["simulated"])
def test_workload_simulation(api: kubernetes.client.ApiClient, fake: FakeKube) -> None:
    apps, core = kubernetes.client.AppsV1Api(api), kubernetes.client.CoreV1Api(api)
    apps.create_namespaced_deployment("default", deployment("web", replicas=2))  # type: ignore[arg-type]

    def status() -> Any:
        return apps.read_namespaced_deployment_status("web", "default").status or kubernetes.client.V1DeploymentStatus()

    def pods() -> list[Any]:
        return sorted(
            core.list_namespaced_pod("default", label_selector="app=web").items, key=lambda p: p.metadata.name
        )

    assert eventually(lambda: status().ready_replicas == 2)
    done = status()
    assert (done.replicas, done.available_replicas, done.updated_replicas, done.observed_generation) == (2, 2, 2, 1)
    first = pods()
    hashes = {p.metadata.labels["pod-template-hash"] for p in first}
    digest = hashes.pop()
    assert not hashes and [p.metadata.name for p in first] == [f"web-{digest}-0", f"web-{digest}-1"]
    assert all(p.status.phase == "Running" and p.status.container_statuses[0].ready for p in first)
    assert first[0].metadata.owner_references[0].kind == "Deployment"

    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert eventually(lambda: status().ready_replicas == 3 and status().observed_generation == 2)
    core.delete_namespaced_pod(first[0].metadata.name, "default")
    assert eventually(lambda: first[0].metadata.name in [p.metadata.name for p in pods()])  # replaced

    fake.fail_deployment("default", "web", "CrashLoopBackOff", "exit 1: no model")
    assert eventually(lambda: status().ready_replicas is None and status().unavailable_replicas == 3)
    waiting = pods()[0].status.container_statuses[0]
    assert (waiting.state.waiting.reason, waiting.state.waiting.message) == ("CrashLoopBackOff", "exit 1: no model")
    assert waiting.restart_count == 3 and not waiting.ready
    available = {c.type: c for c in status().conditions}["Available"]
    assert (available.status, available.reason) == ("False", "MinimumReplicasUnavailable")
    fake.heal_deployment("default", "web")
    assert eventually(lambda: status().ready_replicas == 3)

    image = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}}
    apps.patch_namespaced_deployment("web", "default", image)
    assert eventually(lambda: {p.spec.containers[0].image for p in pods()} == {"nginx:1.28"} and len(pods()) == 3)
    apps.delete_namespaced_deployment("web", "default")
    assert pods() == []

    daemon_set = deployment("agent") | {"kind": "DaemonSet"}
    del daemon_set["spec"]["replicas"]
    created = apps.create_namespaced_daemon_set("default", daemon_set)  # type: ignore[arg-type]
    assert created.status.number_ready == 0  # a new daemon set's status: upstream's zeros
    assert eventually(lambda: apps.read_namespaced_daemon_set_status("agent", "default").status.number_ready == 1)
    assert apps.read_namespaced_daemon_set("agent", "default").status.desired_number_scheduled == 1


@pytest.mark.parametrize("fake", [{"simulate_workloads": True, "endpoint_slices": True}], indirect=True, ids=["sim"])
def test_endpoint_slices(api: kubernetes.client.ApiClient, fake: FakeKube) -> None:
    apps, core = kubernetes.client.AppsV1Api(api), kubernetes.client.CoreV1Api(api)
    discovery = kubernetes.client.DiscoveryV1Api(api)
    web = deployment("web", replicas=2)
    web["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": 5001}]
    apps.create_namespaced_deployment("default", web)  # type: ignore[arg-type]
    service = {
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/managed-by": "mlk"}},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    core.create_namespaced_service("default", service)

    def slices() -> list[Any]:
        return discovery.list_namespaced_endpoint_slice(
            "default", label_selector="app.kubernetes.io/managed-by=mlk"
        ).items

    def ready() -> list[bool]:
        found = slices()
        return [e.conditions.ready for e in (found[0].endpoints or [])] if found else []

    assert eventually(lambda: ready() == [True, True])
    (slice_,) = slices()
    assert slice_.metadata.name.startswith("web-") and slice_.metadata.labels["kubernetes.io/service-name"] == "web"
    assert [(p.name, p.port, p.protocol) for p in slice_.ports] == [("http", 5001, "TCP")]
    pod_ips = {p.status.pod_ip for p in core.list_namespaced_pod("default").items}
    assert {a for e in slice_.endpoints for a in e.addresses} == pod_ips
    assert {e.target_ref.kind for e in slice_.endpoints} == {"Pod"}
    fake.fail_deployment("default", "web", "ImagePullBackOff")
    assert eventually(lambda: ready() == [False, False])
    core.delete_namespaced_service("web", "default")
    assert slices() == []  # owned by the Service


# --- kopf and the standalone server -----------------------------------------------------------------------------


def test_kopf_operator_end_to_end(
    widgets: kubernetes.client.CustomObjectsApi,
    core: kubernetes.client.CoreV1Api,
    kubeconfig: Path,
    fake: FakeKube,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kopf.testing import KopfRunner

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    # The client reads KUBECONFIG once, when it is imported; kopf's login goes through it (load_kube_config()).
    monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    operator = Path(__file__).with_name("kopf_operator.py")
    body = {"apiVersion": "fakekube.test/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}

    def widget() -> dict[str, Any]:
        return dict(widgets.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w"))

    with KopfRunner(["run", "--standalone", "--all-namespaces", str(operator)], timeout=30) as runner:
        widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body)
        assert eventually(lambda: widget().get("status", {}).get("phase") == "Ready", timeout=15)
        assert widget()["status"]["configMap"] == "w-config"
        assert widget()["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
        assert core.read_namespaced_config_map("w-config", "default").data == {"size": "3"}
        assert eventually(lambda: [e["reason"] for e in fake.objects("events", "default")] == ["Configured"])
        widgets.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w")
        assert eventually(lambda: not fake.objects(PLURAL, group=GROUP), timeout=15)  # kopf released its finalizer
        assert core.list_namespaced_config_map("default").items == []  # owned by the widget: collected
    assert runner.exit_code == 0 and runner.exception is None
    assert "Handler 'create_widget' succeeded" in runner.output
    assert "Handler 'delete_widget' succeeded" in runner.output


def test_standalone_server(tmp_path: Path) -> None:
    config = tmp_path / "fake.kubeconfig"
    script = REPO / "scripts" / "fake-kube"
    assert os.access(script, os.X_OK)
    process = subprocess.Popen(  # from elsewhere: the script finds the repository itself
        [str(script), "--port", "0", "--kubeconfig", "fake.kubeconfig"], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert "listening on http://127.0.0.1:" in process.stdout.readline()
        assert "export KUBECONFIG=" in process.stdout.readline()
        with kubernetes.config.new_client_from_config(config_file=str(config), context="fake") as api:
            names = [n.metadata.name for n in kubernetes.client.CoreV1Api(api).list_namespace().items]
        assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    finally:
        process.terminate()
        assert process.wait(10) == 0
        if process.stdout:
            process.stdout.close()
