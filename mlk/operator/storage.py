"""The storage Secret each deployment's pods read: a read-only, expiring SAS derived from the workspace's
storage Secret (which holds the account credential and is read by the operator only). Renewed well
before it expires, so a pod that starts late (scale-up, reschedule) can still fetch its model."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from mlk.k8s.cluster import Cluster
from mlk.render import names
from mlk.render.pod import STORAGE_SECRET_KEY

# The pods' SAS lives as short as its renewal allows. Pods use it only when they start (the storage-initializer
# fetches the model, then nothing reads it), and a Secret they get is renewed before they can need it again
# (a restarted pod reads the Secret anew). The renewal timer (renew_storage in mlk.operator.handlers) ticks
# every RENEW_INTERVAL_S: a SAS is renewed at the first tick after less than RENEW_BEFORE_S is left, so with
# 11 to 12 hours still to run, and a dozen missed ticks (operator restarts, an unreachable API server) still
# renew it in time. A leaked pod Secret reads the workspace's storage for a day at most.
RENEW_INTERVAL_S = 3600.0
SAS_HOURS = 24.0
RENEW_BEFORE_S = 12 * 3600.0
EXPIRES = "mlk.dev/sas-expires"

log = logging.getLogger(__name__)


class MissingStorage(Exception):
    """The workspace's storage Secret is not (yet) in the namespace."""


def pod_secret_name(deployment_object: str) -> str:
    return names.k8s_name(deployment_object, "storage")


def _workspace_config(cluster: Cluster, namespace: str, source: str) -> dict[str, Any]:
    secret = cluster.get("v1", "Secret", source, namespace)
    if secret is None or STORAGE_SECRET_KEY not in (secret.get("data") or {}):
        raise MissingStorage(f"storage Secret '{source}' (key {STORAGE_SECRET_KEY}) is not in namespace {namespace}")
    loaded: dict[str, Any] = json.loads(base64.b64decode(secret["data"][STORAGE_SECRET_KEY]))
    return loaded


def read_only(config: Mapping[str, Any]) -> tuple[dict[str, Any], float | None]:
    """(pod storage configuration, its expiry as epoch seconds or None when it cannot expire here)."""
    from mlk.storage import open_store
    from mlk.storage.config import READ_ONLY_SAS_HINT, StorageConfig, pod_sas_refusal, sas_allows_http

    parsed = StorageConfig(**config)
    if parsed.type != "blob":
        raise ValueError("the workspace's storage is a local folder; pods can only read blob storage")
    if parsed.sas_url:  # the workspace itself only has a SAS: hand it on (its own expiry applies) if read-only
        refusal = pod_sas_refusal(parsed.sas_url)
        if refusal:
            raise ValueError(f"{refusal}: pods get read and list permissions only; {READ_ONLY_SAS_HINT}")
        if sas_allows_http(parsed.sas_url):
            log.warning("the workspace's SAS URL handed to pods also allows plain http (spr=https,http or no spr=)")
        return {"type": "blob", "sas_url": parsed.sas_url}, None
    with open_store(parsed) as store:
        url = store.read_url(hours=SAS_HOURS)
    return {"type": "blob", "sas_url": url}, time.time() + SAS_HOURS * 3600


def needs_renewal(secret: Mapping[str, Any] | None, now: float | None = None) -> bool:
    if secret is None:
        return True
    expires = ((secret.get("metadata") or {}).get("annotations") or {}).get(EXPIRES)
    if expires is None:
        return False  # a handed-on SAS: nothing the operator can renew
    return float(expires) - (now if now is not None else time.time()) < RENEW_BEFORE_S


def ensure(cluster: Cluster, owner: Mapping[str, Any], source: str, *, force: bool = False) -> str:
    """The pods' Secret of the OnlineDeployment `owner`, made (or renewed near expiry) from `source`."""
    from mlk.render.workload import owned_by

    namespace = str(owner["metadata"]["namespace"])
    name = pod_secret_name(str(owner["metadata"]["name"]))
    current = cluster.get("v1", "Secret", name, namespace)
    if not force and not needs_renewal(current):
        return name
    config, expires = read_only(_workspace_config(cluster, namespace, source))
    annotations = {EXPIRES: f"{expires:.0f}"} if expires is not None else {}
    cluster.apply(
        owned_by(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": names.base_labels("storage"),
                    "annotations": annotations,
                },
                "stringData": {STORAGE_SECRET_KEY: json.dumps(config)},
            },
            owner,
        )
    )
    return name
