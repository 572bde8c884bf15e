"""What a valid file resolves to: Azure's defaults, one spelling per value, absolute local paths."""

from __future__ import annotations

from pathlib import Path

from mlk.specs import load_spec
from tests.conftest import EXAMPLES


def test_deployment_gets_azure_defaults() -> None:
    spec = load_spec(EXAMPLES / "blue.yml")
    data = spec.data
    assert data["request_settings"] == {
        "request_timeout_ms": 3000,
        "max_concurrent_requests_per_instance": 1,
        "max_queue_wait_ms": 3000,
    }
    probe = {"initial_delay": 10, "period": 10, "timeout": 2, "success_threshold": 1, "failure_threshold": 30}
    assert data["liveness_probe"] == probe and data["readiness_probe"] == probe
    assert data["scale_settings"] == {"type": "default"}
    assert data["instance_count"] == 1 and data["instance_type"] == "defaultinstancetype"
    assert data["type"] == "kubernetes" and "$schema" not in data


def test_paths_become_absolute_except_those_relative_to_another_field() -> None:
    data = load_spec(EXAMPLES / "blue.yml").data
    assert data["model"]["path"] == str((EXAMPLES / "model-1/model").resolve())
    assert data["code_configuration"] == {
        "code": str((EXAMPLES / "onlinescoring").resolve()),
        "scoring_script": "score.py",
    }
    assert Path(data["environment"]["conda_file"]).is_file()


def test_target_utilization_defaults_and_lenient_spellings(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text("def init(): pass\ndef run(x): return x\n")
    file = tmp_path / "d.yml"
    file.write_text(
        "name: blue\nendpoint_name: ep1\ntype: Kubernetes\nmodel: azureml:m:1\n"
        "code_configuration: {code: src, scoring_script: score.py}\nenvironment: azureml:env@latest\n"
        "scale_settings: {type: TargetUtilization, max_instances: '4'}\ninstance_count: '2'\n"
        "resources: {limits: {gpu: 1}}\nprovisioning_state: Succeeded\n"
    )
    data = load_spec(file).data
    assert data["scale_settings"] == {
        "type": "target_utilization",
        "max_instances": 4,
        "min_instances": 1,
        "target_utilization_percentage": 70,
        "polling_interval": 1,
    }
    assert data["instance_count"] == 2 and data["type"] == "kubernetes"
    assert data["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert "provisioning_state" not in data


def test_endpoint_defaults_and_compute_reference(tmp_path: Path) -> None:
    file = tmp_path / "e.yml"
    file.write_text("name: my-endpoint\ncompute: azureml:k8s-compute\nauth_mode: AMLToken\n")
    data = load_spec(file).data
    assert data == {"name": "my-endpoint", "compute": "k8s-compute", "auth_mode": "aml_token"}
    file.write_text("name: my-endpoint\n")
    assert load_spec(file, kind="online-endpoint").data["auth_mode"] == "key"


def test_extension_settings_resolve_to_booleans_and_new_names(tmp_path: Path) -> None:
    file = tmp_path / "x.yml"
    file.write_text(
        "enableInference: 'True'\ninferenceRouterServiceType: nodePort\n"
        "allowInsecureConnections: 'true'\ninferenceLoadBalancerHA: 'False'\n"
    )
    data = load_spec(file, kind="extension-config").data
    assert data["enableInference"] is True and data["inferenceRouterServiceType"] == "NodePort"
    assert data["inferenceRouterHA"] is False and "inferenceLoadBalancerHA" not in data
    assert data["enableTraining"] is False and data["installPromOp"] is True


def test_set_overrides_apply_before_validation(tmp_path: Path) -> None:
    spec = load_spec(EXAMPLES / "blue.yml", set_values=("instance_count=3", "request_settings.max_queue_wait_ms=9"))
    assert spec.data["instance_count"] == 3 and spec.data["request_settings"]["max_queue_wait_ms"] == 9
