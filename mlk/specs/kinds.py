"""The kinds of file mlk reads, and how a file's kind is recognised: `$schema`, then `type`, then shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlk.errors import UsageError

# Read-only fields Azure writes into `show` output; users copy them back into files, so accept and drop them.
READ_ONLY = (
    "id",
    "provisioning_state",
    "scoring_uri",
    "openapi_uri",
    "location",
    "creation_context",
    "latest_version",
)
# Managed-only fields: warned about by the rules, dropped from what mlk acts on.
MANAGED_ONLY_ENDPOINT = ("public_network_access",)
MANAGED_ONLY_DEPLOYMENT = ("egress_public_network_access", "private_network_connection")
MANAGED_ONLY = (*MANAGED_ONLY_ENDPOINT, *MANAGED_ONLY_DEPLOYMENT)


@dataclass(frozen=True)
class Kind:
    """One kind of YAML file and the schema that validates it."""

    name: str
    """Name used by `--kind` and in messages (az ml's noun)."""
    schema_file: str
    """File in schemas/ that validates it."""
    azure_schemas: tuple[str, ...] = ()
    """Basenames of Azure's `$schema` URLs for this kind (lowercase, without `.schema.json`)."""
    managed_schemas: tuple[str, ...] = ()
    """Basenames of the managed-online variant: accepted, with warnings for managed-only fields."""

    @property
    def schema_stem(self) -> str:
        return self.schema_file.removesuffix(".schema.json").lower()


ENDPOINT = Kind(
    "online-endpoint", "kubernetesOnlineEndpoint.schema.json", ("kubernetesonlineendpoint",), ("managedonlineendpoint",)
)
DEPLOYMENT = Kind(
    "online-deployment",
    "kubernetesOnlineDeployment.schema.json",
    ("kubernetesonlinedeployment",),
    ("managedonlinedeployment",),
)
COMPUTE = Kind("compute", "kubernetesCompute.schema.json", ("kubernetescompute",))
ENVIRONMENT = Kind("environment", "environment.schema.json", ("environment",))
MODEL = Kind("model", "model.schema.json", ("model",))
INSTANCE_TYPE = Kind("instance-type", "instanceType.schema.json", ("instancetype",))
EXTENSION_CONFIG = Kind("extension-config", "extensionConfig.schema.json", ("extensionconfig",))
ROUTER_CONFIG = Kind("router-config", "routerConfig.schema.json", ("routerconfig",))
JOB = Kind("job", "commandJob.schema.json", ("commandjob",))
DATA = Kind("data", "data.schema.json", ("data",))

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        ENDPOINT,
        DEPLOYMENT,
        COMPUTE,
        ENVIRONMENT,
        MODEL,
        INSTANCE_TYPE,
        EXTENSION_CONFIG,
        ROUTER_CONFIG,
        JOB,
        DATA,
    )
}

# Azure's other job types: recognised so that such a file is refused by name, not as "unknown kind".
OTHER_JOB_TYPES = ("sweep", "pipeline", "parallel", "automl", "spark")
DATA_TYPES = ("uri_file", "uri_folder", "mltable")


def kind_named(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UsageError(f"unknown kind '{name}'", hint="kinds: " + ", ".join(KINDS)) from None


def _schema_stem(url: str) -> str:
    base = url.rstrip("/").rsplit("/", 1)[-1].lower()
    return base.removesuffix(".json").removesuffix(".schema")


@dataclass(frozen=True)
class Detected:
    kind: Kind | None
    managed: bool = False
    """The file says it is a managed online endpoint/deployment (`$schema` or `type: managed`)."""
    reason: str = ""
    unsupported: str = ""
    """Why mlk refuses this kind of file (another job type); `field` says which line tells."""
    field: str = ""


def _other_job(stem: str, type_field: str) -> Detected | None:
    """A sweep/pipeline/... job file, refused by name: from `$schema`, else `type` (None for anything else)."""
    if stem.endswith("job") and stem != "commandjob":  # sweepJob, autoMLClassificationJob, ...
        job_type, field = ("automl" if stem.startswith("automl") else stem.removesuffix("job")), "$schema"
    elif (not stem or stem.endswith("job")) and type_field in OTHER_JOB_TYPES:
        job_type, field = type_field, "type"
    else:
        return None
    message = f"{job_type} jobs are not supported: mlk runs command jobs (type: command)"
    return Detected(None, reason=message, unsupported=message, field=field)


def detect(data: Any) -> Detected:
    """Recognise a parsed file: `$schema` first, then `type`/`kind`, then the fields it has."""
    if not isinstance(data, dict):
        return Detected(None, reason="the file is not a mapping")
    schema = data.get("$schema")
    stem = _schema_stem(schema) if isinstance(schema, str) and schema else ""
    type_field = str(data.get("type", "")).lower()
    other_job = None if "endpoint_name" in data else _other_job(stem, type_field)
    if other_job is not None:
        return other_job
    if stem:
        for kind in KINDS.values():
            if stem in kind.azure_schemas or stem == kind.schema_stem:
                return Detected(kind, reason=f"$schema {schema}")
            if stem in kind.managed_schemas:
                # `type: kubernetes` wins over a managed $schema, as azure-ai-ml reads such a file
                kubernetes = str(data.get("type", "")).lower() == "kubernetes"
                return Detected(kind, managed=not kubernetes, reason=f"$schema {schema}")
    if data.get("kind") == "InstanceType" or ("spec" in data and "apiVersion" in data):
        return Detected(INSTANCE_TYPE, reason="kind: InstanceType")
    if isinstance(data.get("endpoints"), list):
        return Detected(ROUTER_CONFIG, reason="it lists endpoints")
    if "endpoint_name" in data:
        return Detected(DEPLOYMENT, managed=type_field == "managed", reason="it has endpoint_name")
    if "command" in data or type_field == "command":  # before compute: jobs name a compute too
        return Detected(JOB, reason="it has command")
    if type_field == "kubernetes" or ("namespace" in data and "resource_id" in data):
        return Detected(COMPUTE, reason="type: kubernetes without endpoint_name")
    if {"traffic", "auth_mode", "mirror_traffic", "compute"} & data.keys():
        return Detected(ENDPOINT, reason="it has traffic/auth_mode/compute")
    if {"image", "conda_file", "build", "inference_config"} & data.keys():
        return Detected(ENVIRONMENT, reason="it has image/conda_file/build")
    if type_field in DATA_TYPES and "path" in data:  # before the model's rule: both have path
        return Detected(DATA, reason=f"type: {type_field} with path")
    if "path" in data:
        return Detected(MODEL, reason="it has path")
    if any(k.startswith(("enable", "install", "inferenceRouter", "nodeSelector.")) for k in data):
        return Detected(EXTENSION_CONFIG, reason="it has extension settings")
    return Detected(None, reason="no $schema, type or telling field")
