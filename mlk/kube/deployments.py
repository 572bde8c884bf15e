"""Online deployments on a Kubernetes compute: upload model and code, resolve the image, apply the
OnlineDeployment, then follow its status (the operator writes the real failure reason there).

The cluster reads assets from the workspace's blob storage: the CLI puts the workspace's storage
configuration in a Secret of the namespace (the workspace's connection, as Azure keeps one), and the
operator gives each deployment's pods only a read-only SAS derived from it. Registry credentials travel
the same way: the workspace's registry Secret, from which the operator makes each deployment's pull Secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from mlk.errors import ConflictError, ExternalError, NotFoundError, OperationTimeout, UsageError
from mlk.k8s.cluster import Cluster
from mlk.kube import endpoints
from mlk.render import crs, names
from mlk.render.pod import STORAGE_SECRET_KEY
from mlk.specs.traffic import check_deletable
from mlk.workspace import assets, nocode
from mlk.workspace import state as desired
from mlk.workspace.home import Workspace
from mlk.workspace.limits import operation_timeout

Say = Callable[[str], None]
KIND = "OnlineDeployment"


def storage_secret_name(ws: Workspace) -> str:
    return names.k8s_name("mlk-storage", ws.name)


def _storage_secret(ws: Workspace, namespace: str) -> dict[str, Any]:
    config = ws.storage_config()
    if config.type != "blob":
        raise UsageError(
            f"workspace '{ws.name}' keeps its assets on this machine; a cluster cannot read them",
            hint="use blob storage: mlk workspace create NAME --storage-connection-string '...' (Azurite works)",
        )
    fields = {k: v for k, v in vars(config).items() if v is not None}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": storage_secret_name(ws),
            "namespace": namespace,
            "labels": {**names.base_labels("storage"), "mlk.dev/workspace": names.k8s_name(ws.name)},
        },
        "stringData": {STORAGE_SECRET_KEY: json.dumps(fields)},
    }


def _image(ws: Workspace, definition: Mapping[str, Any], say: Say, on_lines: Any = None) -> str:
    """The image mlk's server runs in: an image-only environment used as it is (as Azure does: the pod runs
    mlk's server if the image has it, else azmlinfsrv); one with a conda file or a build context built (or
    found) and pushed to the workspace's registry."""
    if not (definition.get("conda_file") or definition.get("build")):
        if not definition.get("image"):
            raise UsageError("the environment has no image", hint="set environment.image (or a conda file)")
        say(f"image {definition['image']}: used as it is (no conda file, nothing to build)")
        return str(definition["image"])
    from mlk.workspace import builds

    result = builds.ensure_image(ws, definition, say=say, push=True, on_lines=on_lines)
    say(f"image {result.describe()}")
    return result.reference


def _custom_image(ws: Workspace, definition: Mapping[str, Any], say: Say, on_lines: Any = None) -> str:
    """A custom container's image, run with its own command: `image` as it is (the nodes pull it), or its
    build context built as it is — no mlk runtime, no command of mlk's — and pushed to the registry."""
    if definition.get("conda_file"):
        raise UsageError(
            "a custom container (inference_config) runs its image as it is: mlk adds no conda environment to it",
            hint="install the packages in the image (environment.build with your Dockerfile), or drop conda_file",
        )
    if not definition.get("build"):
        if not definition.get("image"):
            raise UsageError("the environment has no image", hint="set environment.image (or environment.build)")
        say(f"image {definition['image']}: a custom container, used as it is")
        return str(definition["image"])
    from mlk.envs.identity import build_context_files, environment_identity
    from mlk.images.engine import engine
    from mlk.workspace import base_images, builds

    settings = builds.settings(ws)
    if not settings["registry"]:
        raise UsageError(
            f"workspace '{ws.name}' has no registry to push the custom container's image to",
            hint="mlk workspace update --registry HOST:PORT [--registry-username U --registry-password P]",
        )
    identity = environment_identity(definition, None, build_context_files(definition))
    auth = builds.registry_auth(settings["registry"])
    with engine() as docker:
        tag = base_images.base_image(docker, settings["registry"], definition, identity, "never", auth, say, on_lines)
        reference = builds.push_image(docker, settings["registry"], tag, auth, say, on_lines)
    say(f"image {reference}: a custom container, built from its own Dockerfile as it is")
    return reference


def _registry_secret(ws: Workspace, namespace: str) -> dict[str, Any] | None:
    """The workspace's registry credentials for the operator, which makes each deployment's pull Secret
    from them; None without credentials (the nodes pull as configured: public registry, kubelet auth)."""
    from mlk.render import registry as registry_objects
    from mlk.workspace import builds

    registry = builds.settings(ws)["registry"]
    auth = builds.registry_auth(registry)
    if registry is None or auth is None:
        return None
    name = names.k8s_name("mlk-registry", ws.name)
    return registry_objects.workspace_secret(name, namespace, {**auth, "url": str(registry["url"])}, ws.name)


def _asset(ws: Workspace, registered: assets.Registered | None) -> dict[str, str] | None:
    if registered is None:
        return None
    return {"digest": registered.digest, "name": assets.manifest_of(ws, registered).name}


def get_cr(cluster: Cluster, namespace: str, endpoint: str, name: str) -> dict[str, Any] | None:
    return cluster.get(names.API_VERSION, KIND, names.deployment_object_name(endpoint, name), namespace)


def create(
    ws: Workspace,
    spec: Mapping[str, Any],
    compute: Mapping[str, Any],
    *,
    all_traffic: bool,
    wait: bool,
    say: Say,
    progress: Any = None,
    update: bool = False,
    on_lines: Any = None,
) -> dict[str, Any]:
    endpoint, name, namespace = str(spec["endpoint_name"]), str(spec["name"]), str(compute["namespace"])
    missing = UsageError(
        "a deployment on Kubernetes needs an environment",
        hint="add environment: {image: ..., conda_file: ...} (or azureml:NAME:VERSION)",
    )
    with endpoints.connect(ws, compute) as cluster:
        if endpoints.get_cr(cluster, namespace, endpoint) is None:
            raise NotFoundError(
                f"online endpoint '{endpoint}' does not exist in {compute['name']}/{namespace}",
                hint=f"create it first: mlk online-endpoint create -n {endpoint}",
            )
        existing = get_cr(cluster, namespace, endpoint, name)
        if existing is not None and not update:
            raise ConflictError(
                f"online deployment '{name}' already exists in endpoint '{endpoint}'",
                hint="change it with mlk online-deployment update -f FILE",
            )
        if existing is None and update:
            raise NotFoundError(f"online deployment '{name}' of endpoint '{endpoint}' does not exist")
        secret = _storage_secret(ws, namespace)
        definition = assets.deployment_environment(ws, spec, missing) if spec.get("environment") else None
        custom = (definition or {}).get("inference_config")  # a registered environment may be one too
        if definition is None and spec.get("code_configuration") is not None:
            raise missing  # before anything is uploaded
        model = assets.deployment_model(ws, spec, say, progress)
        code = assets.deployment_code(ws, spec, say, progress)
        if code is None and custom is None:
            definition, code = nocode.generated(ws, spec, model, definition, say)
        if definition is None:
            raise missing
        image = _custom_image(ws, definition, say, on_lines) if custom else _image(ws, definition, say, on_lines)
        registry_secret = _registry_secret(ws, namespace)
        runtime = {
            "image": image,
            "model": _asset(ws, model),
            "code": _asset(ws, code),
            "storage": ws.storage_config().describe(),
            "storage_secret": secret["metadata"]["name"],
            "inference_config": custom,
            "registry_secret": registry_secret["metadata"]["name"] if registry_secret else None,
        }
        cluster.apply(secret)
        if registry_secret is not None:
            cluster.apply(registry_secret)
        cr = cluster.apply(crs.deployment_cr(spec, namespace, runtime={k: v for k, v in runtime.items() if v}))
        _remember(ws, spec)
        say(f"applied {KIND} {cr['metadata']['name']} (image {image})")
        if wait:
            follow(cluster, namespace, endpoint, name, int(cr["metadata"].get("generation") or 1), say)
    if all_traffic:
        endpoints.update(ws, endpoint, compute, spec=None, traffic={name: 100}, mirror=None)
    return show(ws, endpoint, name, compute)


def _remember(ws: Workspace, spec: Mapping[str, Any]) -> None:
    with desired.mutate(ws) as state:
        record = desired.endpoint(state, str(spec["endpoint_name"]))
        record["deployments"][str(spec["name"])] = {"spec": dict(spec), "updated": time.time()}


def follow(
    cluster: Cluster,
    namespace: str,
    endpoint: str,
    name: str,
    generation: int,
    say: Say,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Wait for the operator's verdict on `generation`, saying each new condition as it appears."""
    timeout = operation_timeout() if timeout is None else timeout
    deadline, last = time.monotonic() + timeout, ""
    while True:
        cr = get_cr(cluster, namespace, endpoint, name)
        if cr is None:
            raise NotFoundError(f"online deployment '{name}' was deleted while waiting for it")
        status = cr.get("status") or {}
        current = status.get("observedGeneration") == generation
        condition: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        line = f"  {status.get('state', 'Creating')}: {condition.get('message') or 'waiting for the operator'}"
        if current and line != last:
            say(line.split("\n", maxsplit=1)[0])
            last = line
        if current and status.get("state") == "Succeeded":
            return cr
        if current and status.get("state") == "Failed":
            message = condition.get("message") or ""
            first, _, rest = message.partition("\n")
            raise ExternalError(
                f"deployment '{name}' failed: {condition.get('reason', 'Failed')}: {first}",
                hint=("the last lines it printed:\n" + rest) if rest else f"mlk online-deployment get-logs -n {name}",
            )
        if time.monotonic() > deadline:
            raise OperationTimeout(
                f"deployment '{name}' is not ready after {timeout:.0f} s",
                hint=f"kubectl -n {namespace} describe {KIND.lower()}s.{names.GROUP} "
                f"{names.deployment_object_name(endpoint, name)}",
            )
        time.sleep(0.25)


def view(cr: Mapping[str, Any]) -> dict[str, Any]:
    spec, status = cr.get("spec") or {}, cr.get("status") or {}
    runtime = spec.get("runtime") or {}
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    labels = (cr.get("metadata") or {}).get("labels") or {}
    out = {
        "name": labels.get(names.LABEL_DEPLOYMENT),
        "endpoint_name": spec.get("endpoint_name"),
        "type": "kubernetes",
        "provisioning_state": status.get("state", "Creating"),
        "model": spec.get("model"),
        "environment": spec.get("environment"),
        "image": runtime.get("image"),
        "code_configuration": spec.get("code_configuration"),
        "instance_type": spec.get("instance_type"),
        "instance_count": spec.get("instance_count"),
        "request_settings": spec.get("request_settings"),
        "scale_settings": spec.get("scale_settings"),
        "ready_replicas": status.get("readyReplicas", 0),
        "namespace": (cr.get("metadata") or {}).get("namespace"),
    }
    if condition and condition.get("status") != "True":
        out["reason"] = {"reason": condition.get("reason"), "message": condition.get("message")}
    return out


def show(ws: Workspace, endpoint: str, name: str, compute: Mapping[str, Any]) -> dict[str, Any]:
    with endpoints.connect(ws, compute) as cluster:
        cr = get_cr(cluster, str(compute["namespace"]), endpoint, name)
    if cr is None:
        raise NotFoundError(f"online deployment '{name}' of endpoint '{endpoint}' is not in the cluster")
    return view(cr)


def listing(ws: Workspace, endpoint: str, compute: Mapping[str, Any]) -> list[dict[str, Any]]:
    with endpoints.connect(ws, compute) as cluster:
        found = cluster.list(
            names.API_VERSION,
            KIND,
            str(compute["namespace"]),
            label_selector=f"{names.LABEL_ENDPOINT}={names.canonical(endpoint)}",
        )
    return sorted((view(cr) for cr in found), key=lambda d: str(d["name"]))


def delete(ws: Workspace, endpoint: str, name: str, compute: Mapping[str, Any], timeout: float = 120) -> None:
    namespace = str(compute["namespace"])
    with endpoints.connect(ws, compute) as cluster:
        ep_spec = (endpoints.get_cr(cluster, namespace, endpoint) or {}).get("spec") or {}
        # traffic is kept under the canonical names
        traffic, mirror = ep_spec.get("traffic") or {}, ep_spec.get("mirror_traffic") or {}
        check_deletable(names.canonical(name), endpoint, traffic, mirror)
        if not cluster.delete(names.API_VERSION, KIND, names.deployment_object_name(endpoint, name), namespace):
            raise NotFoundError(f"online deployment '{name}' of endpoint '{endpoint}' is not in the cluster")
        deadline = time.monotonic() + timeout
        while get_cr(cluster, namespace, endpoint, name) is not None:
            if time.monotonic() > deadline:
                raise OperationTimeout(f"deployment {name} is still being deleted", hint="the operator removes it")
            time.sleep(0.2)
    with desired.mutate(ws) as state:
        record = state["endpoints"].get(endpoint)
        if record is not None:
            record["deployments"].pop(name, None)


def logs(ws: Workspace, endpoint: str, name: str, compute: Mapping[str, Any], lines: int, container: str) -> str:
    """The container's log from each pod of the deployment (kubectl logs, with Azure's container names),
    `lines` in all."""
    from mlk.workspace.replica_logs import joined

    namespace = str(compute["namespace"])
    selector = ",".join(f"{k}={v}" for k, v in names.selector_labels(endpoint, name).items())
    with endpoints.connect(ws, compute) as cluster:
        if get_cr(cluster, namespace, endpoint, name) is None:
            raise NotFoundError(f"online deployment '{name}' of endpoint '{endpoint}' is not in the cluster")
        pods = cluster.list("v1", "Pod", namespace, label_selector=selector)
        sections = []
        for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
            pod_name = str(pod["metadata"]["name"])
            try:
                text = cluster.pod_log(namespace, pod_name, container, tail_lines=lines)
            except Exception as exc:  # a container that never started has no log: say why instead
                text = f"(no log: {getattr(exc, 'message', None) or exc})"
            sections.append((pod_name, text))
    return joined(sections, lines) if sections else f"(no pods for deployment '{name}' yet)"
