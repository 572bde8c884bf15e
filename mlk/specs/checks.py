"""Rules JSON Schema cannot say: sums, cross-field limits, Kubernetes rules, files that must exist.

Azure's SDK lets several of these through to the service, where they fail minutes later; mlk stops them
at the keyboard. Each rule reads the already schema-valid data and reports through a `Checker`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlk.specs import kinds
from mlk.specs.jobchecks import check_data, check_job
from mlk.specs.paths import is_reference, local_paths, missing_reason
from mlk.specs.problems import JsonPath, Problem, Severity
from mlk.specs.quantity import parse_quantity
from mlk.specs.relative import leaving_reason
from mlk.specs.scripts import conda_file_problems, scoring_script_problems
from mlk.specs.yamlpos import Document

GPU = "nvidia.com/gpu"
MAX_ENDPOINT_AND_DEPLOYMENT = 62


class Checker:
    """Collects problems about one document, located by JSON path."""

    def __init__(self, doc: Document, base: Path, *, managed: bool = False) -> None:
        self.doc, self.base, self.managed = doc, base, managed
        self.problems: list[Problem] = []

    def error(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self._add(path, message, Severity.ERROR, key)

    def warn(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self._add(path, message, Severity.WARNING, key)

    def _add(self, path: JsonPath, message: str, severity: Severity, key: bool) -> None:
        self.problems.append(self.doc.problem(path, message, severity, key=key))


def check_resources(c: Checker, resources: Any, path: JsonPath, *, limits_cap: dict[str, Any] | None = None) -> None:
    """requests <= limits for cpu and memory; GPUs as a whole number, in limits only."""
    if not isinstance(resources, dict):
        return
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for name in ("cpu", "memory"):
        if name in requests and name in limits and parse_quantity(requests[name]) > parse_quantity(limits[name]):
            c.error(
                (*path, "requests", name),
                f"request {requests[name]} is more than the limit {limits[name]}; requests must be <= limits",
            )
    if GPU in requests:
        c.error((*path, "requests", GPU), "GPUs are set in limits only (Kubernetes requests the same number)", key=True)
    gpu = limits.get(GPU)
    if gpu is not None and not (isinstance(gpu, int) or (isinstance(gpu, str) and gpu.isdigit())):
        c.error((*path, "limits", GPU), f"GPUs are whole numbers: {gpu!r} is not (write e.g. 1)")


def _python_scoring(data: Any) -> bool:
    """Whether mlk's server runs the scoring script: not in a custom container (inference_config), whose own
    server reads it (plumber.R, a Triton model), and only for a .py file."""
    environment = data.get("environment") if isinstance(data, dict) else None
    if isinstance(environment, dict) and "inference_config" in environment:
        return False
    script = str(((data.get("code_configuration") or {}) if isinstance(data, dict) else {}).get("scoring_script", ""))
    return script.endswith(".py")


def _check_paths(c: Checker, kind: kinds.Kind, *, scripts: bool) -> None:
    scripts = scripts and _python_scoring(c.doc.data)
    for item in local_paths(kind, c.doc.data, c.base):
        reason = missing_reason(item)
        if reason:
            c.error(item.path, reason)
        elif item.path[-1] == "conda_file":
            c.problems.extend(conda_file_problems(item.target))
        elif item.path[-1] == "scoring_script" and scripts:
            c.problems.extend(scoring_script_problems(item.target))


def _check_environment(c: Checker, env: Any, path: JsonPath) -> None:
    if not isinstance(env, dict):
        return
    has_image, has_build = "image" in env, "build" in env
    if has_image == has_build:
        c.error(path, "an environment needs exactly one of `image` (optionally with `conda_file`) or `build`")
    if "conda_file" in env and has_build:
        c.error(
            (*path, "conda_file"),
            "conda_file goes with `image`; with `build`, install packages in the Dockerfile",
            key=True,
        )


def _registry_assets(c: Checker, data: dict[str, Any], managed: bool) -> None:
    for field in ("model", "environment"):
        value = data.get(field)
        if isinstance(value, str) and value.startswith("azureml://registries/"):
            say = c.warn if managed else c.error  # Azure takes them on managed endpoints only
            say(
                (field,),
                "registry assets (azureml://registries/...) cannot be deployed to Kubernetes; "
                "register the asset in the workspace and use azureml:<name>:<version>",
            )


def check_endpoint(c: Checker, data: dict[str, Any]) -> None:
    traffic: dict[str, int] = data.get("traffic") or {}
    total = sum(traffic.values())
    if traffic and total not in (0, 100):
        c.error(("traffic",), f"traffic sums to {total}; it must be 0 or 100")
    for name, share in (data.get("mirror_traffic") or {}).items():
        if traffic.get(name, 0) > 0 and share > 0:
            c.error(
                ("mirror_traffic", name),
                f"'{name}' gets {traffic[name]}% of live traffic; a deployment "
                "receives live or mirrored traffic, not both",
                key=True,
            )
    if data.get("auth_mode") == "aad_token":
        c.error(("auth_mode",), "aad_token works on managed endpoints only; use key or aml_token")
    for field in kinds.MANAGED_ONLY_ENDPOINT:
        if field in data:
            c.warn((field,), "managed endpoints only; ignored", key=True)
    _check_identity(c, data.get("identity"))


def _check_identity(c: Checker, identity: Any) -> None:
    if (
        isinstance(identity, dict)
        and identity.get("user_assigned_identities")
        and "user_assigned" not in str(identity.get("type", ""))
    ):
        c.error(("identity", "type"), "user_assigned_identities need type: user_assigned")


def check_deployment(c: Checker, data: dict[str, Any]) -> None:
    both = len(data["name"]) + len(data["endpoint_name"])
    if both > MAX_ENDPOINT_AND_DEPLOYMENT:
        c.error(
            ("name",),
            f"endpoint and deployment names are {both} characters together; Kubernetes "
            f"allows at most {MAX_ENDPOINT_AND_DEPLOYMENT}",
        )
    managed = c.managed or data.get("type") == "managed"
    if managed:
        c.warn(
            ("type",) if "type" in data else (),
            "a managed online deployment: mlk runs it on Kubernetes or this machine; managed-only fields are ignored",
        )
        if str(data.get("instance_type", "")).lower().startswith("standard_"):
            c.warn(
                ("instance_type",),
                f"'{data['instance_type']}' is an Azure VM size; on Kubernetes "
                "instance_type names an InstanceType (or leave it out for the default)",
            )
    for field in kinds.MANAGED_ONLY_DEPLOYMENT:
        if field in data:
            c.warn((field,), "managed deployments only; ignored", key=True)
    resources = data.get("resources") or {}
    for part in ("requests", "limits"):
        if isinstance(resources.get(part), dict) and "gpu" in resources[part] and GPU in resources[part]:
            c.error(("resources", part, "gpu"), f"give the GPU count once: 'gpu' and '{GPU}' are the same", key=True)
    check_resources(
        c,
        {p: {GPU if k == "gpu" else k: v for k, v in (resources.get(p) or {}).items()} for p in ("requests", "limits")},
        ("resources",),
    )
    probe = data.get("liveness_probe") or {}
    if probe.get("success_threshold", 1) != 1:
        c.error(("liveness_probe", "success_threshold"), "must be 1 for a liveness probe (a Kubernetes rule)")
    scale = data.get("scale_settings") or {}
    if scale.get("type") == "target_utilization":
        low, high = scale.get("min_instances", 1), scale.get("max_instances", 1)
        if low > high:
            c.error(("scale_settings", "min_instances"), f"min_instances {low} is more than max_instances {high}")
        count = data.get("instance_count")
        if count is not None and not low <= count <= high:
            c.warn(
                ("instance_count",),
                f"instance_count {count} is outside min/max instances {low}-{high}; "
                "the autoscaler keeps replicas within min and max",
            )
    code = data.get("code_configuration")
    if isinstance(code, dict) and "code" not in code:
        c.error(("code_configuration",), "missing required field 'code': the folder that holds the scoring script")
    if (
        isinstance(code, dict)
        and is_reference(str(code.get("code", "")))
        and isinstance(code.get("scoring_script"), str)
    ):
        # a local code folder's script is checked on disk with the other paths (symbolic links too)
        reason = leaving_reason(code["scoring_script"], str(code["code"]))
        if reason:
            c.error(("code_configuration", "scoring_script"), reason)
    environment, model = data.get("environment"), data.get("model")
    custom_container = isinstance(environment, dict) and "inference_config" in environment
    if code is None and not custom_container and isinstance(model, str) and model.startswith("azureml:"):
        c.warn(
            ("model",),
            "no code_configuration: the registered model must be an mlflow_model (no-code deployment); "
            "otherwise give code + scoring_script",
        )
    elif (
        code is None
        and not (isinstance(model, dict) and model.get("type") == "mlflow_model")
        and (environment is None or (isinstance(environment, dict) and not custom_container))
    ):
        c.error(
            (),
            "no code_configuration: give code + scoring_script, or an environment with inference_config "
            "(custom container), or an mlflow_model",
        )
    if environment is None and code is not None:
        c.error((), "missing required field 'environment': the image (and conda file) score.py runs in")
    _check_environment(c, environment, ("environment",))
    _registry_assets(c, data, managed)
    if data.get("app_insights_enabled"):
        c.warn(("app_insights_enabled",), "Application Insights is Azure's; mlk serves Prometheus metrics instead")


def check_environment(c: Checker, data: dict[str, Any]) -> None:
    _check_environment(c, data, ())


def _job(c: Checker, data: dict[str, Any]) -> None:
    check_job(c, data)
    _check_environment(c, data.get("environment"), ("environment",))


def check_model(c: Checker, data: dict[str, Any]) -> None:
    path = data.get("path")
    if data.get("type") == "mlflow_model" and isinstance(path, str) and not is_reference(path):
        folder = Path(path) if Path(path).is_absolute() else c.base / path
        if folder.is_dir() and not (folder / "MLmodel").is_file():
            c.error(("path",), "an mlflow_model is a folder with an MLmodel file; none found there")


def check_instance_type(c: Checker, data: dict[str, Any]) -> None:
    resources = (data.get("spec") or {}).get("resources")
    if not isinstance(resources, dict):
        return
    for name in ("cpu", "memory"):
        value = (resources.get("requests") or {}).get(name)
        if value is not None and parse_quantity(value) == 0:
            c.error(("spec", "resources", "requests", name), f"{name} request must be more than zero")
    check_resources(c, resources, ("spec", "resources"))


def check_extension_config(c: Checker, data: dict[str, Any]) -> None:
    training, inference = data.get("enableTraining") is True, data.get("enableInference") is True
    if not (training or inference):
        c.error((), "set enableTraining=True or enableInference=True (at least one)")
    if inference and "inferenceRouterServiceType" not in data:
        c.error((), "enableInference=True needs inferenceRouterServiceType: LoadBalancer, NodePort or ClusterIP")
    if inference and data.get("allowInsecureConnections") is not True:
        cert, key = "sslCertPemFile" in data, "sslKeyPemFile" in data
        if cert != key:
            c.error(
                ("sslCertPemFile" if cert else "sslKeyPemFile",),
                "sslCertPemFile and sslKeyPemFile go together",
                key=True,
            )
        if "sslSecret" not in data and not (cert and key):
            c.error(
                (),
                "HTTPS needs sslSecret, or sslCertPemFile + sslKeyPemFile; "
                "or set allowInsecureConnections=True for plain HTTP",
            )
        elif "sslCname" not in data:
            c.error((), "HTTPS needs sslCname: the host name the certificate was issued for")
    if "internalLoadBalancerProvider" in data and data.get("inferenceRouterServiceType") != "LoadBalancer":
        c.error(
            ("internalLoadBalancerProvider",),
            "an internal load balancer needs inferenceRouterServiceType=LoadBalancer",
            key=True,
        )
    ha, old = data.get("inferenceRouterHA"), data.get("inferenceLoadBalancerHA")
    if ha is not None and old is not None and ha != old:
        c.error(("inferenceLoadBalancerHA",), "contradicts inferenceRouterHA (its newer name); keep one", key=True)


def check_router_config(c: Checker, data: dict[str, Any]) -> None:
    seen: set[str] = set()
    for i, endpoint in enumerate(data["endpoints"]):
        if endpoint["name"] in seen:
            c.error(("endpoints", i, "name"), f"endpoint '{endpoint['name']}' is listed twice")
        seen.add(endpoint["name"])
        names = [d["name"] for d in endpoint.get("deployments", [])]
        if len(set(names)) != len(names):
            c.error(("endpoints", i, "deployments"), "a deployment is listed twice")
        for field in ("traffic", "mirror_traffic"):
            for name in endpoint.get(field, {}):
                if name not in names:
                    c.error(("endpoints", i, field, name), f"no deployment '{name}' in this endpoint", key=True)
        total = sum(endpoint.get("traffic", {}).values())
        if total not in (0, 100):
            c.error(("endpoints", i, "traffic"), f"traffic sums to {total}; it must be 0 or 100")
        mode = endpoint.get("auth_mode", "key")
        if mode == "key" and not endpoint.get("keys"):
            c.error(("endpoints", i), "key auth needs `keys` (primary and secondary)")
        if mode == "aml_token" and not endpoint.get("token_secret"):
            c.error(("endpoints", i), "aml_token auth needs `token_secret`")


CHECKS: dict[str, Callable[[Checker, dict[str, Any]], None]] = {
    kinds.ENDPOINT.name: check_endpoint,
    kinds.DEPLOYMENT.name: check_deployment,
    kinds.COMPUTE.name: lambda c, d: _check_identity(c, d.get("identity")),
    kinds.ENVIRONMENT.name: check_environment,
    kinds.MODEL.name: check_model,
    kinds.INSTANCE_TYPE.name: check_instance_type,
    kinds.EXTENSION_CONFIG.name: check_extension_config,
    kinds.ROUTER_CONFIG.name: check_router_config,
    kinds.JOB.name: _job,
    kinds.DATA.name: check_data,
}


def semantic_problems(
    doc: Document, kind: kinds.Kind, base: Path, *, managed: bool = False, scripts: bool = True
) -> list[Problem]:
    """Problems beyond the schema, for a document that already passed it."""
    c = Checker(doc, base, managed=managed)
    CHECKS[kind.name](c, doc.data)
    _check_paths(c, kind, scripts=scripts)
    return c.problems
