"""Online deployments on the embedded default: register and fetch the assets, build the environment, ask
the agent for replicas, wait until they answer (or show why they do not), route traffic.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from mlk.errors import ConflictError, ExternalError, UsageError
from mlk.local import control, runtime
from mlk.local.endpoints import update as update_endpoint
from mlk.specs.traffic import check_deletable
from mlk.workspace import assets
from mlk.workspace import state as desired
from mlk.workspace.files import private_dir
from mlk.workspace.home import Workspace
from mlk.workspace.limits import operation_timeout
from mlk.workspace.records import PROCESS, DeploymentRecord

Say = Callable[[str], None]


def _environment(
    ws: Workspace, spec: Mapping[str, Any], say: Say, generated: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """(environment record, python) — built or found in the cache. `generated`: the environment mlk makes
    when the deployment names none (a no-code MLflow deployment's, from the model's conda.yaml)."""
    from mlk.envs.identity import identity_of_spec
    from mlk.envs.venv import ensure_env

    env = spec.get("environment") or generated
    if env is None:
        say("WARNING: no environment: score.py runs in mlk's own Python")
        return {"name": None}, sys.executable
    if isinstance(env, str):
        registered = assets.resolve(ws, "environments", env)
        definition = dict((registered.record or {})["definition"])
    else:
        definition = dict(env)
        identity = identity_of_spec(definition)
        registered = assets.register_environment(
            ws,
            definition.get("name") or assets.ANONYMOUS,
            str(definition["version"]) if definition.get("version") else None,
            identity,
            definition,
        )
    if not definition.get("conda_file"):
        say(
            f"WARNING: environment {registered.reference} has no conda file: on this machine score.py runs in "
            "mlk's own Python; its image is used on Kubernetes"
        )
        return {"name": registered.name, "version": registered.version, "identity": registered.digest}, sys.executable
    built = ensure_env(definition, ws.envs, on_output=None)
    version = built.python_version or built.plan.python
    if version and tuple(int(p) for p in version.split(".")[:2]) < (3, 11):
        raise UsageError(
            f"the environment's Python is {version}; mlk's server needs Python 3.11 or newer on this machine",
            hint="set python=3.11 (or newer) in the conda file, or MLK_LOCAL_PYTHON=3.11",
        )
    say(
        f"environment {registered.reference}: {'reused' if built.reused else f'built in {built.seconds:.1f} s'}"
        + (f" (skipped: {', '.join(n for n, _ in built.plan.skipped)})" if built.plan.skipped else "")
    )
    return {"name": registered.name, "version": registered.version, "identity": registered.digest}, str(built.python)


def _initializer_log(ws: Workspace, spec: Mapping[str, Any], lines: list[str]) -> None:
    """What Kubernetes' storage-initializer container would print: where model and code came from."""
    folder = runtime.log_dir(ws, spec["endpoint_name"], spec["name"])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    from mlk.local.logfiles import RotatingLog

    log = RotatingLog(folder / "storage-initializer.log")
    try:
        log.write("".join(f"{stamp} I storage-initializer - {line}\n" for line in lines).encode())
    finally:
        log.close()


def _materialize(ws: Workspace, registered: assets.Registered) -> Path:
    from mlk.storage.cas import materialize

    manifest = assets.manifest_of(ws, registered)
    with ws.store() as store:
        return Path(materialize(store, manifest, runtime.assets_dir(ws), ws.cache / "blobs"))


def _check_python(ws: Workspace, spec: Mapping[str, Any]) -> None:
    """Refuse, before anything is uploaded, a conda file whose Python mlk's server cannot run in."""
    import os

    from mlk.envs.conda import pip_plan
    from mlk.envs.identity import read_conda
    from mlk.envs.venv import LOCAL_PYTHON

    if spec.get("environment") is None:
        return
    conda = read_conda(assets.deployment_environment(ws, spec, UsageError("no environment")))
    wanted = os.environ.get(LOCAL_PYTHON, "").strip() or (pip_plan(conda).python if conda else None)
    parts = (wanted or "").split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and (int(parts[0]), int(parts[1])) < (3, 11):
        raise UsageError(
            f"the conda file asks for Python {wanted}: on this machine mlk's server runs score.py inside the "
            "environment, and it needs Python 3.11 or newer",
            hint=f"raise python= in the conda file, or set {LOCAL_PYTHON}=3.11 to build it with 3.11 "
            f"(packages pinned for {wanted} may not install)",
        )


def prepare(ws: Workspace, spec: Mapping[str, Any], say: Say, progress: Any = None) -> dict[str, Any]:
    """Everything a replica needs, registered and on disk: the deployment record's `run` and asset refs."""
    from mlk.local import nocode
    from mlk.workspace.nocode import wanted as no_code_wanted

    _check_python(ws, spec)
    model = assets.deployment_model(ws, spec, say, progress)
    code = assets.deployment_code(ws, spec, say, progress)
    mlflow = no_code_wanted(spec, model)
    if code is None and not mlflow:
        raise UsageError(
            "the embedded default runs score.py files: this deployment has no code_configuration",
            hint="custom containers run on the Docker runtime (mlk workspace update --local-runtime docker) "
            "or Kubernetes; an MLflow model deploys without code when its type is mlflow_model",
        )
    started = time.perf_counter()
    model_root = _materialize(ws, model) if model is not None else runtime.assets_dir(ws) / "no-model"
    private_dir(model_root)
    fetch_s = time.perf_counter() - started  # the environment's build is not the initializer's time
    generated = nocode.environment(model_root, model.name) if mlflow and model is not None else None
    if mlflow:
        say("no code_configuration: mlk's MLflow scoring script serves the model (as Azure's no-code deployment)")
    environment, python = _environment(ws, spec, say, generated)
    started = time.perf_counter()
    code_root = _materialize(ws, code) if code is not None else nocode.script_folder(runtime.assets_dir(ws))
    fetch_s += time.perf_counter() - started
    with ws.store() as store:
        where = store.describe()
    _initializer_log(
        ws,
        spec,
        [
            f"model {model.reference if model else '(none)'} -> {model_root}",
            f"code {code.digest[:12] if code else '(mlk MLflow scoring script)'} -> {code_root}",
            f"from {where} in {fetch_s:.2f} s",
        ],
    )
    if code is None:
        code_dir, script = code_root, nocode.SCRIPT
    else:
        code_dir = (
            code_root / Path(spec["code_configuration"]["code"]).name
            if not str(spec["code_configuration"]["code"]).startswith("azureml:")
            else next(code_root.iterdir())
        )
        script = spec["code_configuration"]["scoring_script"]
    return {
        "model": model.reference if model else None,
        "code": code.digest if code else None,
        "environment": environment,
        "run": {
            "runtime": PROCESS,
            "python": python,
            "code_dir": str(code_dir),
            "model_dir": str(model_root),
            "scoring_script": script,
        },
    }


def _wait_ready(
    ws: Workspace, endpoint: str, name: str, generation: int, instances: int, say: Say, timeout: float
) -> None:
    key = runtime.key(endpoint, name)
    seen: dict[int, str] = {}

    def report(status: dict[str, Any]) -> None:
        for replica in status["deployments"].get(key, {}).get("replicas", []):
            if replica["generation"] == generation and seen.get(replica["index"]) != replica["state"]:
                seen[replica["index"]] = replica["state"]
                say(
                    f"  replica {replica['index']}: {replica['state']}"
                    + (f" (exit code {replica['exit_code']})" if replica["state"] in ("failed", "crashed") else "")
                )

    def done(status: dict[str, Any]) -> bool:
        entry = status["deployments"].get(key, {})
        failure = entry.get("failure")
        if failure and failure.get("generation") == generation:
            raise ExternalError(
                f"deployment '{name}' failed: {failure['reason']}",
                hint="the last lines it printed:\n" + (failure.get("log_tail") or "(nothing)"),
            )
        ready = [r for r in entry.get("replicas", []) if r["generation"] == generation and r["state"] == "ready"]
        return len(ready) >= instances

    control.wait_until(ws, done, timeout, f"deployment {name} to become ready", on_status=report)


def create(
    ws: Workspace,
    spec: Mapping[str, Any],
    *,
    all_traffic: bool,
    wait: bool,
    say: Say,
    progress: Any = None,
    update: bool = False,
    runtime_kind: str | None = None,
    on_lines: Any = None,
) -> dict[str, Any]:
    endpoint, name = spec["endpoint_name"], spec["name"]
    kind = "online-deployment update" if update else "online-deployment create"
    with desired.operation(ws, endpoint, kind):
        with desired.mutate(ws) as state:
            record = desired.endpoint(state, endpoint)
            existing = record["deployments"].get(name)
            if existing is not None and not existing.get("deleting") and not update:
                raise ConflictError(
                    f"online deployment '{name}' already exists in endpoint '{endpoint}'",
                    hint="change it with mlk online-deployment update -f FILE",
                )
            if update and existing is None:
                desired.deployment(state, endpoint, name)  # raises NotFound
        if existing is None:  # a new deployment: an earlier one of that name leaves no logs behind
            import shutil

            shutil.rmtree(runtime.log_dir(ws, endpoint, name), ignore_errors=True)
        kind = runtime_kind or str(ws.config.get("runtime") or "process")
        if kind == "docker":
            from mlk.local import docker_prepare

            prepared = docker_prepare.prepare(ws, spec, say, progress, on_lines)
        elif kind == "process":
            prepared = prepare(ws, spec, say, progress)
        else:
            raise UsageError(f"--runtime {kind}: use process or docker")
        with desired.mutate(ws) as state:
            record = desired.endpoint(state, endpoint)
            previous = record["deployments"].get(name)
            generation = (previous.get("generation", 0) if previous else 0) + 1
            made = {
                **prepared,
                "spec": dict(spec),
                "generation": generation,
                "created": previous.get("created", time.time()) if previous else time.time(),
                "updated": time.time(),
            }
            record["deployments"][name] = cast(DeploymentRecord, made)  # prepared: a Run and asset refs
        control.poke(ws)
        if wait:
            _wait_ready(ws, endpoint, name, generation, int(spec.get("instance_count", 1)), say, operation_timeout())
    if all_traffic:
        update_endpoint(ws, endpoint, traffic={name: 100})
    return show(ws, endpoint, name)


def delete(ws: Workspace, endpoint: str, name: str, timeout: float = 60) -> None:
    with desired.operation(ws, endpoint, "online-deployment delete"):
        with desired.mutate(ws) as state:
            record = desired.endpoint(state, endpoint)
            dep = desired.deployment(state, endpoint, name)
            check_deletable(name, endpoint, record.get("traffic", {}), record.get("mirror_traffic", {}))
            dep["deleting"] = True
        control.poke(ws)
        key = runtime.key(endpoint, name)
        control.wait_until(
            ws, lambda s: not s["deployments"].get(key, {}).get("replicas"), timeout, f"deployment {name} to stop"
        )
        with desired.mutate(ws) as state:
            desired.endpoint(state, endpoint)["deployments"].pop(name, None)


def show(ws: Workspace, endpoint: str, name: str) -> dict[str, Any]:
    state = desired.load(ws)
    dep = desired.deployment(state, endpoint, name)
    status = runtime.read_status(ws)["deployments"].get(runtime.key(endpoint, name), {})
    spec = dep["spec"]
    replicas = [r for r in status.get("replicas", []) if r["generation"] == dep.get("generation")]
    failure = status.get("failure")
    if dep.get("deleting"):
        provisioning = "Deleting"
    elif failure and failure.get("generation") == dep.get("generation"):
        provisioning = "Failed"
    elif sum(r["state"] == "ready" for r in replicas) >= int(spec.get("instance_count", 1)):
        provisioning = "Succeeded"
    else:
        provisioning = "Updating" if int(dep.get("generation", 1)) > 1 else "Creating"
    out = {
        "name": name,
        "endpoint_name": endpoint,
        "type": "kubernetes",
        "provisioning_state": provisioning,
        "model": dep.get("model"),
        "environment": dep.get("environment"),
        "code_configuration": spec.get("code_configuration"),
        "instance_type": spec.get("instance_type"),
        "instance_count": spec.get("instance_count"),
        "request_settings": spec.get("request_settings"),
        "liveness_probe": spec.get("liveness_probe"),
        "readiness_probe": spec.get("readiness_probe"),
        "scale_settings": spec.get("scale_settings"),
        "environment_variables": spec.get("environment_variables"),
        "replicas": [{k: r[k] for k in ("index", "state", "port", "restarts", "exit_code")} for r in replicas],
    }
    if failure and provisioning == "Failed":
        out["error"] = {"reason": failure["reason"], "log_tail": failure.get("log_tail", "")}
    return out


def logs(ws: Workspace, endpoint: str, name: str, lines: int, container: str) -> str:
    desired.deployment(desired.load(ws), endpoint, name)
    folder = runtime.log_dir(ws, endpoint, name)
    if container == "storage-initializer":
        files = [folder / "storage-initializer.log"]
    else:
        files = sorted(folder.glob("inference-server-*.log"))
    from mlk.local.logfiles import tail
    from mlk.workspace.replica_logs import joined

    sections = [(f.stem, tail(f, lines)) for f in files if f.exists()]
    return joined(sections, lines) if sections else f"(no {container} log yet)"
