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

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (ENDPOINT, DEPLOYMENT, COMPUTE, ENVIRONMENT, MODEL, INSTANCE_TYPE, EXTENSION_CONFIG, ROUTER_CONFIG)
}


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


def detect(data: Any) -> Detected:
    """Recognise a parsed file: `$schema` first, then `type`/`kind`, then the fields it has."""
    if not isinstance(data, dict):
        return Detected(None, reason="the file is not a mapping")
    schema = data.get("$schema")
    if isinstance(schema, str) and schema:
        stem = _schema_stem(schema)
        for kind in KINDS.values():
            if stem in kind.azure_schemas or stem == kind.schema_stem:
                return Detected(kind, reason=f"$schema {schema}")
            if stem in kind.managed_schemas:
                # `type: kubernetes` wins over a managed $schema, as azure-ai-ml reads such a file
                kubernetes = str(data.get("type", "")).lower() == "kubernetes"
                return Detected(kind, managed=not kubernetes, reason=f"$schema {schema}")
    kind_field, type_field = data.get("kind"), str(data.get("type", "")).lower()
    if kind_field == "InstanceType" or ("spec" in data and "apiVersion" in data):
        return Detected(INSTANCE_TYPE, reason="kind: InstanceType")
    if isinstance(data.get("endpoints"), list):
        return Detected(ROUTER_CONFIG, reason="it lists endpoints")
    if "endpoint_name" in data:
        return Detected(DEPLOYMENT, managed=type_field == "managed", reason="it has endpoint_name")
    if type_field == "kubernetes" or ("namespace" in data and "resource_id" in data):
        return Detected(COMPUTE, reason="type: kubernetes without endpoint_name")
    if {"traffic", "auth_mode", "mirror_traffic", "compute"} & data.keys():
        return Detected(ENDPOINT, reason="it has traffic/auth_mode/compute")
    if {"image", "conda_file", "build", "inference_config"} & data.keys():
        return Detected(ENVIRONMENT, reason="it has image/conda_file/build")
    if "path" in data:
        return Detected(MODEL, reason="it has path")
    if any(k.startswith(("enable", "install", "inferenceRouter", "nodeSelector.")) for k in data):
        return Detected(EXTENSION_CONFIG, reason="it has extension settings")
    return Detected(None, reason="no $schema, type or telling field")
