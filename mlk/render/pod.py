"""The pod of one online deployment, in the shape Azure's extension gives it (the contract's "pod shape").

    /var/azureml-app                      emptyDir shared by the two containers
    ├── <code folder name>/               AML_APP_ROOT (score.py inside, AZUREML_ENTRY_SCRIPT relative to it)
    └── azureml-models/<model digest>/    AZUREML_MODEL_DIR (the model file or folder inside, by its name)

  A code folder named like an entry the volume needs for itself (azureml-models, the initializer's
  .mlk-cache and .mlk-code) goes to azureml-code/<its name> instead (`code_folder`), so code and model
  never share, replace or delete a folder.

- init container `storage-initializer` (mlk's image): `python -m mlk.storage.initializer --model <digest>
  --code <digest> --dest /var/azureml-app` fetches both content-addressed manifests into that layout; the
  storage's credentials come from the storage Secret (key `storage.json` → MLK_STORAGE_CONFIG).
- container `inference-server` (the environment's image): `mlk.server` on 5001 when the image has it (mlk's
  images do), else Azure's `azmlinfsrv` (an image-only environment is used as it is, as on Azure), with
  Azure's environment contract; probes GET / on 5001. A custom container (the environment's
  inference_config) keeps its own command, port and probe routes, and sees the model at model_mount_path.
  A no-code MLflow deployment runs mlk's generated code (GENERATED_CODE), whose script the pod names.
- container `route-adapter` (mlk's image), beside a custom container: on the pod's `http` port, it maps
  the routers' POST /score and GET / to the container's own routes (mlk.server.nocode.routes).
- resources: the instance type's requests and limits, the deployment's own overriding them; GPUs in
  limits only (Kubernetes requests as many); a request above its limit, or a limit above the instance
  type's, is a ValueError (a permanent error for the operator: retrying cannot fix it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mlk.errors import EXIT_BOOT_FAILED
from mlk.render.objects import container_security, quantities, quantity, tmp_mount
from mlk.specs.quantity import parse_quantity
from mlk.specs.relative import leaving_reason

APP_ROOT = "/var/azureml-app"
MODELS = "azureml-models"
MODELS_DIR = f"{APP_ROOT}/{MODELS}"
INITIALIZER_CACHE = ".mlk-cache"
"""The storage-initializer's blob cache under APP_ROOT (removed once the files are in place)."""
INITIALIZER_STAGING = ".mlk-code"
"""Where the storage-initializer assembles the code before moving it to its folder."""
RESERVED = frozenset({MODELS, INITIALIZER_CACHE, INITIALIZER_STAGING})
"""Names under APP_ROOT that are not the code's to take."""
CODE_ELSEWHERE = "azureml-code"
GENERATED_CODE, GENERATED_SCRIPT = "mlflow-nocode", "mlflow_score.py"
"""Folder and entry script of the code mlk generates for a no-code MLflow deployment (mlk/server/nocode)."""
SERVER_PORT = 5001
ADAPTER_MODULE = "mlk.server.nocode.routes"
SERVER_SCRIPT = (
    # mlk's server when the image has it (mlk's images set MLK_PYTHON), else Azure's own azmlinfsrv: an
    # image-only environment is used as it is, as Azure uses it, so Azure's inference images work too.
    'py="${MLK_PYTHON:-python3}"; '
    f'if "$py" -c "import mlk.server" 2>/dev/null; then exec "$py" -m mlk.server --port {SERVER_PORT}; fi; '
    f"if command -v azmlinfsrv >/dev/null 2>&1; then exec azmlinfsrv --port {SERVER_PORT}; fi; "
    "echo \"mlk: this image has neither mlk's server (pip install mlk) nor azmlinfsrv "
    f'(pip install azureml-inference-server-http)" >&2; exit {EXIT_BOOT_FAILED}'
)
LEAVE_ROTATION_SECONDS = 5
"""preStop sleep of the inference server: the pod keeps serving while its EndpointSlice turns not-ready
and every router drops it, and only then gets SIGTERM (without it, requests routed in that window met a
closed port: 3 of 22,922 failed in a rolling update on the real control plane)."""
GPU = "nvidia.com/gpu"
STORAGE_SECRET_KEY = "storage.json"
"""Key of the storage Secret holding the workspace's storage configuration (JSON), credentials included."""
STORAGE_ENV = "MLK_STORAGE_CONFIG"
VOLUME = "azureml-app"
_PROBE_FIELDS = (
    ("initial_delay", "initialDelaySeconds"),
    ("period", "periodSeconds"),
    ("timeout", "timeoutSeconds"),
    ("success_threshold", "successThreshold"),
    ("failure_threshold", "failureThreshold"),
)


def resources(instance_type: Mapping[str, Any], deployment: Mapping[str, Any]) -> dict[str, Any]:
    """Requests and limits of the inference-server: the instance type's, overridden by the deployment's."""
    it = instance_type.get("resources") or {}
    own = deployment.get("resources") or {}
    limits = {**(quantities(it.get("limits")) or {}), **(quantities(own.get("limits")) or {})}
    for name, value in (quantities(own.get("limits")) or {}).items():
        ceiling = (it.get("limits") or {}).get(name)
        if ceiling is not None and parse_quantity(value) > parse_quantity(ceiling):
            raise ValueError(f"resources.limits.{name} {value} exceeds the instance type's limit {quantity(ceiling)}")
    own_requests = quantities(own.get("requests")) or {}
    requests = {**(quantities(it.get("requests")) or {}), **own_requests}
    gpus = requests.pop(GPU, None)
    if gpus is not None:  # an instance type that asks for GPUs in requests: Kubernetes wants them in limits
        limits.setdefault(GPU, gpus)
    for name in list(requests):
        limit = limits.get(name)
        if limit is None or parse_quantity(requests[name]) <= parse_quantity(limit):
            continue
        if name in own_requests:
            raise ValueError(f"resources.requests.{name} {requests[name]} is above its limit {limit}")
        requests[name] = limit  # the instance type's request, lowered to the deployment's own limit
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = dict(sorted(requests.items()))
    if limits:
        out["limits"] = dict(sorted(limits.items()))
    return out


def wants_gpu(res: Mapping[str, Any]) -> bool:
    value = (res.get("limits") or {}).get(GPU)
    return value is not None and parse_quantity(value) > 0


def probe(settings: Mapping[str, Any] | None, path: str, port: int | str) -> dict[str, Any]:
    """A Kubernetes httpGet probe from Azure's probe settings (seconds, snake_case)."""
    out: dict[str, Any] = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}
    for azure, k8s in _PROBE_FIELDS:
        if settings and settings.get(azure) is not None:
            out[k8s] = settings[azure]
    return out


def inference_config(deployment: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A custom container's routes: from the runtime (a registered environment), else the inline environment."""
    runtime = deployment.get("runtime") or {}
    environment = deployment.get("environment")
    inline = environment.get("inference_config") if isinstance(environment, Mapping) else None
    found = runtime.get("inference_config") or inline
    return found if isinstance(found, Mapping) else None


def initializer(system_image: str, storage_secret: str, runtime: Mapping[str, Any]) -> dict[str, Any] | None:
    """The storage-initializer, or None when there is neither model nor code to fetch."""
    args: list[str] = []
    for part in ("model", "code"):
        digest = (runtime.get(part) or {}).get("digest")
        if digest:
            args += [f"--{part}", str(digest)]
    if not args:
        return None
    secret = {"secretKeyRef": {"name": storage_secret, "key": STORAGE_SECRET_KEY}}
    return {
        "name": "storage-initializer",
        "image": system_image,
        "command": ["python", "-m", "mlk.storage.initializer"],
        "args": [*args, "--dest", APP_ROOT],
        "env": [{"name": STORAGE_ENV, "valueFrom": secret}, {"name": "PYTHONUNBUFFERED", "value": "1"}],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": container_security(read_only_root=True),
        "volumeMounts": [{"name": VOLUME, "mountPath": APP_ROOT}, tmp_mount()],
    }


def code_folder(name: str) -> str:
    """Where a code folder called `name` goes, relative to APP_ROOT: its own name, as on Azure, unless that is
    one of the volume's own entries (RESERVED), then azureml-code/<name>. A ValueError for a name that is
    not one plain folder name (the manifest's checks refuse those; a hand-written resource may not)."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"code folder name {name!r} is not a plain folder name")
    return f"{CODE_ELSEWHERE}/{name}" if name in RESERVED else name


def scoring_script(deployment: Mapping[str, Any]) -> str | None:
    """code_configuration.scoring_script, which must stay inside the code folder (mlk validate refuses the
    others; this guards resources written by hand); a ValueError when it does not. Without
    code_configuration, the generated script when the runtime's code is mlk's no-code scoring code."""
    code = deployment.get("code_configuration") or {}
    script = code.get("scoring_script")
    if script is None:
        runtime_code = (deployment.get("runtime") or {}).get("code") or {}
        return GENERATED_SCRIPT if runtime_code.get("name") == GENERATED_CODE else None
    reason = leaving_reason(str(script), str(code.get("code", "")))
    if reason:
        raise ValueError(f"code_configuration.scoring_script: {reason}")
    return str(script)


def user_environment(deployment: Mapping[str, Any]) -> dict[str, str]:
    """The deployment's environment_variables as the container gets them: sorted, text (null is empty)."""
    values = sorted((deployment.get("environment_variables") or {}).items())
    return {str(k): "" if v is None else str(v) for k, v in values}


def server_env(endpoint: str, deployment: Mapping[str, Any]) -> list[dict[str, str]]:
    """Azure's environment contract first, then the user's environment_variables (sorted; they may override)."""
    runtime = deployment.get("runtime") or {}
    code, model = runtime.get("code") or {}, runtime.get("model") or {}
    scoring = scoring_script(deployment)
    system = {
        "AML_APP_ROOT": f"{APP_ROOT}/{code_folder(str(code['name']))}" if code.get("name") else None,
        "AZUREML_ENTRY_SCRIPT": scoring,
        "AZUREML_MODEL_DIR": f"{MODELS_DIR}/{model['digest']}" if model.get("digest") else None,
        "SERVICE_NAME": endpoint,
        "SERVICE_PATH_PREFIX": f"api/v1/endpoint/{endpoint}",
    }
    user = user_environment(deployment)
    merged = {k: v for k, v in system.items() if v is not None and k not in user}
    return [{"name": k, "value": v} for k, v in {**merged, **user}.items()]


def server(endpoint: str, deployment: Mapping[str, Any], image: str, res: Mapping[str, Any]) -> dict[str, Any]:
    """The inference-server container."""
    config = inference_config(deployment)
    runtime = deployment.get("runtime") or {}
    mounts = [{"name": VOLUME, "mountPath": APP_ROOT}, tmp_mount()]
    container: dict[str, Any] = {"name": "inference-server", "image": image}
    if config is None:
        port, live_path, ready_path = SERVER_PORT, "/", "/"
        container["command"] = ["/bin/sh", "-c", SERVER_SCRIPT]
    else:
        port = int(config["scoring_route"]["port"])
        live_path, ready_path = config["liveness_route"]["path"], config["readiness_route"]["path"]
        digest = (runtime.get("model") or {}).get("digest")
        if deployment.get("model_mount_path") and digest:
            sub = f"{MODELS}/{digest}"
            mounts.append({"name": VOLUME, "mountPath": deployment["model_mount_path"], "subPath": sub})
    live_port = port if config is None else int(config["liveness_route"]["port"])
    ready_port = port if config is None else int(config["readiness_route"]["port"])
    # a custom container's scoring port is reached through the route adapter, which holds the `http` name
    port_name = "http" if config is None else "scoring"
    container.update(
        {
            "env": server_env(endpoint, deployment),
            "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"}],
            "livenessProbe": probe(deployment.get("liveness_probe"), live_path, live_port),
            "readinessProbe": probe(deployment.get("readiness_probe"), ready_path, ready_port),
            "resources": dict(res),
            # mlk's server and azmlinfsrv write only to /tmp and the app volume; a custom container may
            # write anywhere in its image, so its root stays writable
            "securityContext": container_security(read_only_root=config is None),
            "lifecycle": {"preStop": {"sleep": {"seconds": LEAVE_ROTATION_SECONDS}}},
            "volumeMounts": mounts,
        }
    )
    return container


def adapter_args(config: Mapping[str, Any]) -> list[str]:
    """What the route adapter maps to: the custom container's scoring and readiness routes."""
    args: list[str] = []
    for name in ("scoring", "readiness"):
        route = config[f"{name}_route"]
        args += [f"--{name}-port", str(int(route["port"])), f"--{name}-path", str(route["path"])]
    return args


def grace_seconds(deployment: Mapping[str, Any]) -> int:
    """Long enough for the preStop pause and then a request in flight at SIGTERM to finish (mlk serve
    drains), and at least 30 s."""
    timeout_ms = int((deployment.get("request_settings") or {}).get("request_timeout_ms", 5000))
    return max(30, LEAVE_ROTATION_SECONDS + math.ceil(timeout_ms / 1000) + 5)
