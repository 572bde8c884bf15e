"""The extension in a cluster: install (render → server-side apply), show (component readiness), update
(what running endpoints it touches), delete (refused while endpoints exist unless forced).

The settings the extension was installed with (secrets excepted) are kept in the ConfigMap
`mlk-extension` of its namespace, so `update` changes only what it is told and `show` can report them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlk
from mlk.errors import ExternalError, NotFoundError
from mlk.k8s.cluster import Cluster, ClusterRef
from mlk.kube import teardown
from mlk.kube.teardown import RECORD, Say

PROTECTED = ("sslCertPemFile", "sslKeyPemFile")


def options_for(
    settings: Mapping[str, Any],
    given: Sequence[str],
    *,
    namespace: str,
    system_image: str | None,
    node_count: int | None,
) -> Any:
    from mlk.render.options import ExtensionOptions

    pem = {k: Path(str(settings[k])).read_text(encoding="utf-8") for k in PROTECTED if k in settings}
    return ExtensionOptions.from_config(
        settings,
        given=given,
        ssl_cert_pem=pem.get("sslCertPemFile"),
        ssl_key_pem=pem.get("sslKeyPemFile"),
        namespace=namespace,
        system_image=system_image,
        node_count=node_count,
    )


def render(options: Any) -> list[dict[str, Any]]:
    from mlk.render.extension import extension_manifests

    return list(extension_manifests(options))


def record_object(options: Any, settings: Mapping[str, Any], given: Sequence[str]) -> dict[str, Any]:
    """The install's record: what the user typed apart from what was resolved (an update must not take
    a resolved default for a choice), and the system image it runs."""
    public = {k: v for k, v in settings.items() if k not in PROTECTED}
    typed = {k: v for k, v in public.items() if k in given}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": RECORD,
            "namespace": options.namespace,
            "labels": {"app.kubernetes.io/managed-by": "mlk", "app.kubernetes.io/name": RECORD},
        },
        "data": {
            "settings.json": json.dumps(public, sort_keys=True),
            "given.json": json.dumps(typed, sort_keys=True),
            "version": mlk.__version__,
            "systemImage": options.system_image,
        },
    }


def write_manifests(objects: Sequence[Mapping[str, Any]], output_dir: Path | None) -> str:
    """One YAML stream (returned), or one file per object under `output_dir`."""
    import yaml

    if output_dir is None:
        return "".join("---\n" + yaml.safe_dump(dict(o), sort_keys=False) for o in objects)
    output_dir.mkdir(parents=True, exist_ok=True)
    for index, obj in enumerate(objects):
        meta = obj.get("metadata", {})
        name = f"{index:02d}-{obj['kind'].lower()}-{meta.get('name')}.yaml"
        (output_dir / name).write_text(yaml.safe_dump(dict(obj), sort_keys=False), encoding="utf-8")
    return f"{len(objects)} manifests written to {output_dir}"


def ensure_tracking_secret(cluster: Cluster, namespace: str) -> None:
    """The tracking server's credentials, made once: kept as they are on every later install or update
    (the server's auth database holds the admin password it first started with)."""
    import secrets

    from mlk.render import names
    from mlk.render.tracking import auth_secret_data

    if cluster.get("v1", "Secret", names.TRACKING_SECRET, namespace) is not None:
        return
    data = auth_secret_data(secrets.token_urlsafe(24), secrets.token_urlsafe(32))
    labels = names.base_labels("tracking")
    metadata = {"name": names.TRACKING_SECRET, "namespace": namespace, "labels": labels}
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata, "stringData": data})


def apply(cluster: Cluster, objects: Sequence[Mapping[str, Any]], say: Say) -> None:
    """Apply in order; after the CRDs, wait until they are established (their kinds exist for what follows).
    With the tracking server among them, its Secret is made (once) right after the Namespace."""
    from mlk.render import names

    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    tracking = any(o["kind"] == "Deployment" and o["metadata"]["name"] == names.TRACKING for o in objects)
    for obj in objects:
        if obj["kind"] in ("Namespace", "CustomResourceDefinition"):
            teardown.wait_gone_if_terminating(cluster, obj, say)
        cluster.apply(dict(obj))
        if obj["kind"] == "Namespace" and tracking:
            ensure_tracking_secret(cluster, str(obj["metadata"]["name"]))
        if crds and obj is crds[-1]:
            _wait_established(cluster, [c["metadata"]["name"] for c in crds])
            cluster.refresh()
    say(f"applied {len(objects)} objects")


MONITOR_CRD = "servicemonitors.monitoring.coreos.com"


def render_monitors(options: Any) -> list[dict[str, Any]]:
    from mlk.render.extension import monitoring_manifests

    return list(monitoring_manifests(options))


def apply_monitors(cluster: Cluster, monitors: Sequence[Mapping[str, Any]], say: Say) -> None:
    """After the Helm charts: ServiceMonitors need kube-prometheus-stack's CRDs; skipped with a note without."""
    if not monitors:
        return
    if cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", MONITOR_CRD) is None:
        say(
            "ServiceMonitors not applied: the cluster has no Prometheus operator CRDs yet "
            "(run the helm commands above, then `mlk extension update`)"
        )
        return
    _wait_established(cluster, [MONITOR_CRD])
    cluster.refresh()
    for obj in monitors:
        cluster.apply(dict(obj))
    say(f"applied {len(monitors)} ServiceMonitors")


def _wait_established(cluster: Cluster, names: Sequence[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [
            n
            for n in names
            if not any(
                c.get("type") == "Established" and c.get("status") == "True"
                for c in (
                    (cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n) or {}).get("status") or {}
                ).get("conditions")
                or []
            )
        ]
        if not pending:
            return
        time.sleep(0.2)
    raise ExternalError(f"CRDs not established after {timeout:.0f} s: {', '.join(pending)}")


def run_helm(options: Any, say: Say) -> None:
    from mlk.render.extension import helm_commands

    commands = helm_commands(options)
    if not commands:
        return
    if shutil.which("helm") is None:
        say("helm is not on PATH: install these upstream components yourself (mlk does not re-write them):")
        for command in commands:
            say(f"  {command}")
        return
    for command in commands:
        say(f"$ {command}")
        done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ExternalError(f"helm failed: {command}", hint=(done.stderr or done.stdout)[-2000:])


def installed_settings(cluster: Cluster, namespace: str) -> dict[str, Any]:
    record = cluster.get("v1", "ConfigMap", RECORD, namespace)
    if record is None:
        raise NotFoundError(
            f"the mlk extension is not installed in namespace '{namespace}'",
            hint="mlk extension install --config enableInference=True ...",
        )
    settings: dict[str, Any] = json.loads(record["data"]["settings.json"])
    return settings


def installed_choices(cluster: Cluster, namespace: str) -> tuple[dict[str, Any], str | None]:
    """(the settings the user typed at install or since, the system image installed) for `update`.
    A record written before mlk kept them apart gives its resolved settings."""
    record = cluster.get("v1", "ConfigMap", RECORD, namespace)
    if record is None:
        installed_settings(cluster, namespace)  # raises the not-installed error
        return {}, None
    data = record.get("data") or {}
    typed: dict[str, Any] = json.loads(data.get("given.json") or data["settings.json"])
    return typed, data.get("systemImage") or None


def components(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    """Each component and whether it is ready."""
    rows = []
    for crd in ("onlineendpoints.mlk.dev", "onlinedeployments.mlk.dev", "instancetypes.mlk.dev"):
        found = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
        established = any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in ((found or {}).get("status") or {}).get("conditions") or []
        )
        rows.append(
            {
                "component": crd,
                "kind": "CustomResourceDefinition",
                "ready": "yes" if established else "missing" if found is None else "no",
            }
        )
    for kind, api in (("Deployment", "apps/v1"), ("DaemonSet", "apps/v1")):
        for obj in cluster.list(api, kind, namespace, label_selector="app.kubernetes.io/managed-by=mlk"):
            status = obj.get("status") or {}
            if kind == "Deployment":
                ready, wanted = status.get("readyReplicas") or 0, (obj.get("spec") or {}).get("replicas") or 0
            else:
                ready, wanted = status.get("numberReady") or 0, status.get("desiredNumberScheduled") or 0
            rows.append({"component": obj["metadata"]["name"], "kind": kind, "ready": f"{ready}/{wanted}"})
    return rows


def cluster_for(kubeconfig: str | None, context: str | None) -> Cluster:
    return Cluster(ClusterRef(kubeconfig, context))
