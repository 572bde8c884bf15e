"""A pod's volumes as folders on this machine, filled as a kubelet fills them.

emptyDir: an empty folder (0777: any container user may write). secret / configMap: one file per key
(defaultMode 0644, `items` honoured, optional sources may be missing). projected: the sources above plus
serviceAccountToken (a TokenRequest bound to the pod, as the kubelet makes, under the node's own identity
that NodeRestriction checks) and downwardAPI. persistentVolumeClaim: the folder of the PersistentVolume the
claim is bound to (hostPath or local: the volume types a single node has; the pod waits while the claim is
unbound), kept as it is: its data outlives the pod. Other volume types are refused with the reason, as a
kubelet without that plugin would.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from tests.controlplane.node.api import Api


class VolumeError(Exception):
    """A volume cannot be set up yet (a Secret missing...): the pod waits, as in ContainerCreating."""


def _write(folder: Path, files: dict[str, bytes], mode: int) -> None:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)


def _pick(data: dict[str, bytes], items: list[dict[str, Any]] | None) -> dict[str, bytes]:
    if not items:
        return data
    return {i.get("path", i["key"]): data[i["key"]] for i in items if i["key"] in data}


def source_data(api: Api, namespace: str, kind: str, name: str, optional: bool) -> dict[str, bytes]:
    """The keys of a Secret or ConfigMap (`kind`: secrets | configmaps); {} for a missing optional one."""
    found = api.get(f"/api/v1/namespaces/{namespace}/{kind}/{name}", ok_missing=True)
    if found is None:
        if optional:
            return {}
        raise VolumeError(f'{kind[:-1]} "{name}" not found')
    encoded = found.get("data" if kind == "secrets" else "binaryData") or {}
    data = {k: base64.b64decode(v) for k, v in encoded.items()}
    if kind == "configmaps":
        data.update({k: v.encode() for k, v in (found.get("data") or {}).items()})
    return data


def field_value(pod: dict[str, Any], path: str) -> str:
    """A downward-API fieldRef: metadata.name/namespace/uid, labels['x'], annotations['x'], spec/status."""
    meta = pod["metadata"]
    for prefix, source in (("metadata.labels['", "labels"), ("metadata.annotations['", "annotations")):
        if path.startswith(prefix):
            return str((meta.get(source) or {}).get(path[len(prefix) : -2], ""))
    simple = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.podIP": (pod.get("status") or {}).get("podIP", ""),
        "status.hostIP": (pod.get("status") or {}).get("hostIP", ""),
    }
    return str(simple.get(path, ""))


def service_account_token(api: Api, pod: dict[str, Any], audience: str | None, seconds: int) -> bytes:
    meta = pod["metadata"]
    account = pod["spec"].get("serviceAccountName") or "default"
    request: dict[str, Any] = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "expirationSeconds": seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]},
        },
    }
    if audience:
        request["spec"]["audiences"] = [audience]
    path = f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token"
    return str(api.request("POST", path, request)["status"]["token"]).encode()


def _projected(api: Api, pod: dict[str, Any], spec: dict[str, Any]) -> dict[str, bytes]:
    namespace = pod["metadata"]["namespace"]
    files: dict[str, bytes] = {}
    for source in spec.get("sources") or []:
        if "serviceAccountToken" in source:
            token = source["serviceAccountToken"]
            seconds = int(token.get("expirationSeconds", 3600))
            files[token["path"]] = service_account_token(api, pod, token.get("audience"), seconds)
        elif "configMap" in source:
            ref = source["configMap"]
            data = source_data(api, namespace, "configmaps", ref["name"], bool(ref.get("optional")))
            files.update(_pick(data, ref.get("items")))
        elif "secret" in source:
            ref = source["secret"]
            data = source_data(api, namespace, "secrets", ref["name"], bool(ref.get("optional")))
            files.update(_pick(data, ref.get("items")))
        elif "downwardAPI" in source:
            for item in source["downwardAPI"].get("items") or []:
                files[item["path"]] = field_value(pod, item["fieldRef"]["fieldPath"]).encode()
    return files


def _claimed(api: Api, namespace: str, claim: str) -> Path:
    """The folder behind a PersistentVolumeClaim: its bound volume's hostPath or local path."""
    found = api.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{claim}", ok_missing=True)
    if found is None:
        raise VolumeError(f'persistentvolumeclaim "{claim}" not found')
    volume = (found.get("spec") or {}).get("volumeName")
    if not volume or (found.get("status") or {}).get("phase") != "Bound":
        raise VolumeError(f'persistentvolumeclaim "{claim}" is not bound yet')
    spec = api.get(f"/api/v1/persistentvolumes/{volume}")["spec"]
    source = spec.get("hostPath") or spec.get("local")
    if not source:
        raise VolumeError(f"persistentvolume {volume}: only hostPath and local volumes are supported by the test node")
    folder = Path(source["path"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare(api: Api, pod: dict[str, Any], root: Path) -> dict[str, Path]:
    """Every volume of the pod as a folder under root/volumes: name → folder."""
    namespace = pod["metadata"]["namespace"]
    out: dict[str, Path] = {}
    for volume in pod["spec"].get("volumes") or []:
        folder = root / "volumes" / volume["name"]
        if "persistentVolumeClaim" in volume:
            folder = _claimed(api, namespace, volume["persistentVolumeClaim"]["claimName"])
        elif "emptyDir" in volume:
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o777)
        else:
            if "secret" in volume:
                ref = volume["secret"]
                found = source_data(api, namespace, "secrets", ref["secretName"], bool(ref.get("optional")))
                data = _pick(found, ref.get("items"))
                mode = int(ref.get("defaultMode", 0o644))
            elif "configMap" in volume:
                ref = volume["configMap"]
                found = source_data(api, namespace, "configmaps", ref["name"], bool(ref.get("optional")))
                data = _pick(found, ref.get("items"))
                mode = int(ref.get("defaultMode", 0o644))
            elif "projected" in volume:
                data = _projected(api, pod, volume["projected"])
                mode = int(volume["projected"].get("defaultMode", 0o644))
            else:
                kind = next(k for k in volume if k != "name")
                raise VolumeError(f"volume {volume['name']}: type {kind} is not supported by the test node agent")
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            folder.chmod(0o755)
            _write(folder, data, mode)
        out[volume["name"]] = folder
    return out
