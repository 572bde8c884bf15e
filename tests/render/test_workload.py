"""An endpoint's and a deployment's objects: Azure's pod shape, upstream-valid, deterministic."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mlk.render import (
    default_instance_type,
    deployment_cr,
    deployment_objects,
    endpoint_cr,
    endpoint_objects,
    instance_type_cr,
    owned_by,
)
from mlk.render.names import MAX_LABEL
from mlk.specs import load_spec
from tests.conftest import EXAMPLES, REPO
from tests.render.helpers import RUNTIME, SYSTEM_IMAGE, assert_valid, check_golden

VALID = REPO / "tests" / "specs" / "valid"
KEYS = {"primaryKey": "p" * 32, "secondaryKey": "s" * 32}


def _endpoint() -> dict[str, Any]:
    return dict(load_spec(EXAMPLES / "endpoint.yml").data)


def _blue(*set_values: str) -> dict[str, Any]:
    return {**load_spec(EXAMPLES / "blue.yml", set_values=set_values).data, "runtime": RUNTIME}


def _objects(deployment: dict[str, Any], instance_type: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return deployment_objects(
        _endpoint(),
        deployment,
        namespace="team-a",
        instance_type=instance_type or default_instance_type(),
        system_image=SYSTEM_IMAGE,
        storage_secret="mlk-storage",
        keys_secret="my-endpoint-keys",
    )


def _kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod: dict[str, Any] = _kind(objects, "Deployment")["spec"]["template"]["spec"]
    return pod


def test_golden_blue_on_the_default_instance_type() -> None:
    objects = endpoint_objects(_endpoint(), namespace="team-a", keys=KEYS) + _objects(_blue())
    check_golden("workload-blue-defaultinstancetype", objects)
    assert_valid(objects)


def test_golden_blue_on_an_instance_type_with_a_node_selector() -> None:
    instance_type = instance_type_cr(load_spec(EXAMPLES / "instance-type.yml").data)
    objects = _objects(_blue("instance_type=small-cpu"), instance_type)
    check_golden("workload-blue-small-cpu", objects)
    assert_valid(objects)
    assert _pod(objects)["nodeSelector"] == {"kubernetes.io/os": "linux"}


def test_pod_shape_is_azures() -> None:
    objects = _objects(_blue())
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Deployment", "Service", "NetworkPolicy"]
    pod = _pod(objects)
    assert pod["volumes"] == [{"name": "azureml-app", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
    (init,) = pod["initContainers"]
    assert init["name"] == "storage-initializer" and init["image"] == SYSTEM_IMAGE
    assert init["command"] + init["args"] == [
        *("python", "-m", "mlk.storage.initializer"),
        *("--model", "a" * 64, "--code", "b" * 64, "--dest", "/var/azureml-app"),
    ]
    assert init["env"][0] == {
        "name": "MLK_STORAGE_CONFIG",
        "valueFrom": {"secretKeyRef": {"name": "mlk-storage", "key": "storage.json"}},
    }
    (server,) = pod["containers"]
    assert server["name"] == "inference-server" and server["image"] == RUNTIME["image"]
    assert server["command"][:2] == ["/bin/sh", "-c"] and "args" not in server
    script = server["command"][2]  # mlk's server when the image has it, else Azure's azmlinfsrv
    assert "-m mlk.server --port 5001" in script and "exec azmlinfsrv --port 5001" in script
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env == {
        "AML_APP_ROOT": "/var/azureml-app/onlinescoring",
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models/" + "a" * 64,
        "SERVICE_NAME": "my-endpoint",
        "SERVICE_PATH_PREFIX": "api/v1/endpoint/my-endpoint",
    }
    assert server["ports"] == [{"name": "http", "containerPort": 5001, "protocol": "TCP"}]
    assert server["livenessProbe"] == {
        "httpGet": {"path": "/", "port": 5001, "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "successThreshold": 1,
        "failureThreshold": 30,
    }
    assert server["resources"] == {
        "requests": {"cpu": "0.1", "memory": "0.5Gi"},
        "limits": {"cpu": "0.5", "memory": "1Gi"},
    }
    assert {t["key"] for t in pod["tolerations"]} >= {"ml.azure.com/amlarc", "ml.azure.com/compute"}
    assert pod["automountServiceAccountToken"] is False
    labels = _kind(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["ml.azure.com/endpoint-name"] == "my-endpoint" and labels["ml.azure.com/deployment-name"] == "blue"
    service = _kind(objects, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"] == {"mlk.dev/endpoint": "my-endpoint", "mlk.dev/deployment": "blue"}


def test_probe_settings_and_user_environment_variables() -> None:
    deployment = _blue(
        "readiness_probe.initial_delay=3",
        "readiness_probe.failure_threshold=5",
        "environment_variables.WORKER_COUNT=2",
        "environment_variables.AZUREML_ENTRY_SCRIPT=other.py",
    )
    server = _pod(_objects(deployment))["containers"][0]
    assert server["readinessProbe"]["initialDelaySeconds"] == 3 and server["readinessProbe"]["failureThreshold"] == 5
    env = [(e["name"], e["value"]) for e in server["env"]]
    assert ("WORKER_COUNT", "2") in env and ("AZUREML_ENTRY_SCRIPT", "other.py") in env
    assert len({name for name, _ in env}) == len(env)  # the user's value replaces mlk's, no duplicate


def test_replicas_follow_instance_count_or_min_instances() -> None:
    assert _kind(_objects(_blue("instance_count=3")), "Deployment")["spec"]["replicas"] == 3
    autoscaled = _blue(
        "scale_settings.type=target_utilization", "scale_settings.min_instances=2", "scale_settings.max_instances=4"
    )
    assert _kind(_objects(autoscaled), "Deployment")["spec"]["replicas"] == 2


def test_gpus_go_in_limits_with_a_toleration() -> None:
    instance_type = {
        "nodeSelector": {"accelerator": "nvidia"},
        "resources": {
            "requests": {"cpu": "1", "memory": "4Gi"},
            "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2},
        },
    }
    deployment = _blue("resources.limits['nvidia.com/gpu']=1")
    objects = _objects(deployment, instance_type)
    assert_valid(objects)
    pod = _pod(objects)
    resources = pod["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1" and "nvidia.com/gpu" not in resources["requests"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["nodeSelector"] == {"accelerator": "nvidia"}


def test_instance_type_requests_are_lowered_to_the_deployments_limits() -> None:
    """defaultinstancetype requests 2Gi; a deployment limited to 1Gi without requests gets 1Gi."""
    deployment = _blue()
    deployment["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    resources = _pod(_objects(deployment))["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"limits": {"memory": "4Gi"}}, "exceeds the instance type's limit 2Gi"),
        ({"requests": {"cpu": "3"}}, "above its limit 2"),
    ],
)
def test_resources_that_do_not_fit_are_refused(resources: dict[str, Any], message: str) -> None:
    deployment = _blue()
    deployment["resources"] = resources
    with pytest.raises(ValueError, match=message):
        _objects(deployment)


def test_custom_container_keeps_its_routes_and_sees_the_model_at_its_mount_path() -> None:
    spec = load_spec(VALID / "online-deployment" / "custom-container.yml").data
    objects = _objects({**spec, "runtime": {**RUNTIME, "code": None}})
    assert_valid(objects)
    server = _pod(objects)["containers"][0]
    assert "command" not in server and "args" not in server
    assert server["ports"][0]["containerPort"] == 8000
    assert server["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8000, "scheme": "HTTP"}
    assert server["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert {"name": "azureml-app", "mountPath": "/models", "subPath": "azureml-models/" + "a" * 64} in server[
        "volumeMounts"
    ]
    assert "AML_APP_ROOT" not in {e["name"] for e in server["env"]}
    assert _pod(objects)["initContainers"][0]["args"] == ["--model", "a" * 64, "--dest", "/var/azureml-app"]


def test_resources_are_accepted_in_place_of_specs() -> None:
    """The operator passes the OnlineEndpoint/OnlineDeployment resources themselves."""
    endpoint = endpoint_cr(_endpoint(), "team-a", compute="k8s")
    deployment = deployment_cr(load_spec(EXAMPLES / "blue.yml").data, "team-a", runtime=RUNTIME)
    from_crs = deployment_objects(
        endpoint,
        deployment,
        namespace="team-a",
        instance_type=instance_type_cr(default_instance_type()),
        system_image=SYSTEM_IMAGE,
        storage_secret="mlk-storage",
        keys_secret="my-endpoint-keys",
    )
    assert from_crs == _objects(_blue())


def test_every_valid_deployment_file_renders_valid_objects() -> None:
    for path in sorted((VALID / "online-deployment").glob("*.yml")):
        spec = dict(load_spec(path).data)
        spec["endpoint_name"] = "my-endpoint"
        instance_type = {
            "resources": {
                "requests": {"cpu": "1", "memory": "1Gi"},
                "limits": {"cpu": "8", "memory": "8Gi", "nvidia.com/gpu": 1},
            }
        }
        objects = _objects({**spec, "runtime": RUNTIME}, instance_type)
        assert_valid(objects)
        for obj in objects:
            assert len(obj["metadata"]["name"]) <= MAX_LABEL


def test_long_names_are_hashed_everywhere() -> None:
    endpoint = {"name": "e" * 32}
    deployment = {**_blue(), "name": "d" * 31, "endpoint_name": "e" * 32}
    objects = deployment_objects(
        endpoint,
        deployment,
        namespace="ns",
        instance_type=default_instance_type(),
        system_image=SYSTEM_IMAGE,
        storage_secret="s",
    )
    names = {o["metadata"]["name"] for o in objects}
    assert len(names) == 1 and len(names.pop()) == MAX_LABEL
    assert_valid(objects)


def test_deterministic() -> None:
    assert yaml.safe_dump_all(_objects(_blue())) == yaml.safe_dump_all(_objects(_blue()))


def test_refuses_a_deployment_of_another_endpoint_or_without_an_image() -> None:
    with pytest.raises(ValueError, match="belongs to endpoint"):
        _objects({**_blue(), "endpoint_name": "other"})
    with pytest.raises(ValueError, match=r"runtime\.image"):
        _objects({**_blue(), "runtime": {}})


def test_endpoint_keys_live_in_an_opaque_secret() -> None:
    (secret,) = endpoint_objects(_endpoint(), namespace="team-a", keys=KEYS)
    assert secret["kind"] == "Secret" and secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == "my-endpoint-keys"
    assert sorted(secret["data"]) == ["primaryKey", "secondaryKey"]
    assert "p" * 32 not in yaml.safe_dump(secret)  # base64 in data, as the API stores it
    with pytest.raises(ValueError):
        endpoint_objects(_endpoint(), namespace="team-a", keys={})


def test_owned_by_adds_one_controller_reference() -> None:
    owner: dict[str, Any] = {
        "apiVersion": "mlk.dev/v1alpha1",
        "kind": "OnlineDeployment",
        "metadata": {"name": "my-endpoint-blue", "namespace": "team-a", "uid": "1234"},
    }
    service = _kind(_objects(_blue()), "Service")
    owned = owned_by(service, owner)
    assert owned["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "mlk.dev/v1alpha1",
            "kind": "OnlineDeployment",
            "name": "my-endpoint-blue",
            "uid": "1234",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert "ownerReferences" not in service["metadata"]  # a copy
    assert owned_by(owned, owner) == owned  # idempotent
    assert_valid([owned])
    with pytest.raises(ValueError, match="uid"):
        owned_by(service, {**owner, "metadata": {"name": "x", "namespace": "team-a"}})
    with pytest.raises(ValueError, match="namespace"):
        owned_by(service, {**owner, "metadata": {**owner["metadata"], "namespace": "other"}})


def test_pods_meet_pod_security_restricted_and_only_routers_reach_them() -> None:
    objects = _objects(_blue())
    pod = _pod(objects)
    assert pod["securityContext"]["runAsNonRoot"] is True and isinstance(pod["securityContext"]["runAsUser"], int)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in [*pod["initContainers"], *pod["containers"]]:
        security = container["securityContext"]
        assert security["capabilities"] == {"drop": ["ALL"]} and security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True  # mlk's server writes only to /tmp and its volume
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    policy = objects[-1]
    assert policy["spec"]["podSelector"]["matchLabels"] == objects[1]["spec"]["selector"]["matchLabels"]
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "mlk-system"}
    assert source["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "mlk-router"}
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
