"""From the desired state to what runs: replica plans for the supervisor, and the router's configuration."""

from __future__ import annotations

from typing import Any

from mlk.local import runtime
from mlk.local.endpoints import AZURE_LOCAL
from mlk.local.supervisor import Plan, Supervisor
from mlk.render import pod
from mlk.router import auth
from mlk.router.config import DeploymentConfig, EndpointConfig, RequestSettings, RouterConfig
from mlk.workspace import keys
from mlk.workspace.home import Workspace
from mlk.workspace.records import DOCKER, DockerRun, State


def replica_plans(ws: Workspace, state: State) -> dict[str, Plan]:
    plans = {}
    for ep_name, endpoint in state["endpoints"].items():
        if endpoint.get("deleting"):
            continue
        for dep_name, dep in endpoint.get("deployments", {}).items():
            run = dep.get("run")
            if dep.get("deleting") or not run:
                continue
            key = runtime.key(ep_name, dep_name)
            env = pod.user_environment(dep["spec"])
            log_dir = str(runtime.log_dir(ws, ep_name, dep_name))
            generation, instances = int(dep["generation"]), int(dep["spec"].get("instance_count", 1))
            if run["runtime"] == DOCKER:
                plans[key] = Plan(  # the container has its own Python, code and model folders
                    key=key,
                    generation=generation,
                    instances=instances,
                    python="",
                    code_dir="",
                    scoring_script=run["scoring_script"],
                    model_dir="",
                    env=env,
                    log_dir=log_dir,
                    container=_container(ep_name, dep["spec"], run),
                )
                continue
            plans[key] = Plan(
                key=key,
                generation=generation,
                instances=instances,
                python=run["python"],
                code_dir=run["code_dir"],
                scoring_script=run["scoring_script"],
                model_dir=run["model_dir"],
                env=env,
                log_dir=log_dir,
            )
    return plans


def _container(endpoint: str, spec: dict[str, Any], run: DockerRun) -> dict[str, Any]:
    """The Docker runtime's replica: the pod's environment (mlk.render.pod), images and storage."""
    from mlk.render.pod import server_env

    deployment = {**spec, "runtime": {"model": run["model"] or {}, "code": run["code"]}}
    env = {item["name"]: item["value"] for item in server_env(endpoint, deployment)}
    return {
        "image": run["image"],
        "system_image": run["system_image"],
        "model": run["model"],
        "code": run["code"],
        "storage": run["storage"],
        "store_path": run["store_path"],
        "env": env,
    }


def router_config(ws: Workspace, state: State, supervisor: Supervisor) -> RouterConfig:
    endpoints = {}
    for ep_name, endpoint in state["endpoints"].items():
        if endpoint.get("deleting"):
            continue
        deployments = {}
        for dep_name, dep in endpoint.get("deployments", {}).items():
            if dep.get("deleting"):
                continue
            rs = dep["spec"].get("request_settings", {})
            settings = RequestSettings(
                rs.get("request_timeout_ms", 5000),
                rs.get("max_concurrent_requests_per_instance", 1),
                rs.get("max_queue_wait_ms", 500),
            )
            urls = supervisor.ready_urls(runtime.key(ep_name, dep_name), int(dep.get("generation", 0)))
            deployments[dep_name] = DeploymentConfig(dep_name, tuple(urls), settings)
        creds = keys.ensure_keys(ws, ep_name)
        endpoints[ep_name] = EndpointConfig(
            ep_name,
            auth.OPEN if endpoint.get(AZURE_LOCAL) else endpoint["spec"].get("auth_mode", "key"),
            (creds["primaryKey"], creds["secondaryKey"]),
            creds["tokenSecret"],
            {d: w for d, w in endpoint.get("traffic", {}).items() if d in deployments},
            {d: w for d, w in endpoint.get("mirror_traffic", {}).items() if d in deployments},
            deployments,
        )
    return RouterConfig(endpoints)
