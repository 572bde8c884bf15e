"""The one place that talks to a Kubernetes API server (the official client, loaded lazily).

Objects go in and come out as plain dicts. Writes are server-side apply with one field manager, so
`extension install` and the operator own exactly the fields they set and a re-run changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlk.k8s.errors import translate

FIELD_MANAGER = "mlk"


@dataclass(frozen=True)
class ClusterRef:
    """How to reach a cluster: a kubeconfig file (None: $KUBECONFIG or ~/.kube/config) and a context."""

    kubeconfig: str | None = None
    context: str | None = None

    def describe(self) -> str:
        source = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        return f"context {self.context or '(current)'} of {source}"


class Cluster:
    def __init__(self, ref: ClusterRef | None = None) -> None:
        self.ref = ref or ClusterRef()
        self._api: Any = None
        self._dynamic: Any = None

    # --- connection -------------------------------------------------------------------------------------
    @property
    def api(self) -> Any:
        if self._api is None:
            from kubernetes import config

            try:
                if (
                    self.ref.kubeconfig is None
                    and self.ref.context is None
                    and os.environ.get("KUBERNETES_SERVICE_HOST")
                ):
                    config.load_incluster_config()  # type: ignore[no-untyped-call]
                    from kubernetes.client import ApiClient

                    self._api = ApiClient()
                else:
                    load = config.new_client_from_config
                    # KUBECONFIG is read now, as kubectl does (the client reads it once, at import)
                    source = self.ref.kubeconfig or os.environ.get("KUBECONFIG") or None
                    self._api = load(config_file=source, context=self.ref.context)  # type: ignore[no-untyped-call]
            except Exception as exc:  # config errors come in many types; all mean "cannot use this kubeconfig"
                from mlk.errors import UsageError

                raise UsageError(
                    f"cannot load the kubeconfig ({self.ref.describe()}): {exc}",
                    hint="pass --kubeconfig FILE and/or --kube-context NAME, as with kubectl",
                ) from exc
        return self._api

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            try:
                self._dynamic = DynamicClient(self.api)  # type: ignore[no-untyped-call]
            except Exception as exc:
                raise translate(exc, "the cluster's API discovery") from exc
        return self._dynamic

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
            self._dynamic = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self) -> None:
        """Forget discovery (after CRDs were created, say)."""
        if self._dynamic is not None:
            self._dynamic.resources.invalidate_cache()

    # --- objects ----------------------------------------------------------------------------------------
    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            self.refresh()
            try:
                return self.dynamic.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError as exc:
                from mlk.errors import NotFoundError

                raise NotFoundError(
                    f"the cluster does not know {kind} ({api_version})",
                    hint="is the mlk extension installed? mlk extension install --help",
                ) from exc

    def apply(self, obj: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
        """Server-side apply `obj` (create or update) as the field manager `mlk`."""
        meta = obj.get("metadata", {})
        what = f"{obj.get('kind')} {meta.get('namespace', '') + '/' if meta.get('namespace') else ''}{meta.get('name')}"
        resource = self._resource(obj["apiVersion"], obj["kind"])
        try:
            result = self.dynamic.server_side_apply(
                resource,
                body=obj,
                name=meta.get("name"),
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=force,
            )
        except Exception as exc:
            raise translate(exc, what) from exc
        return dict(result.to_dict())

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError as Missing

        resource = self._resource(api_version, kind)
        try:
            return dict(self.dynamic.get(resource, name=name, namespace=namespace).to_dict())
        except Missing:
            return None
        except Exception as exc:
            raise translate(exc, f"{kind} {name}") from exc

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        resource = self._resource(api_version, kind)
        try:
            found = self.dynamic.get(resource, namespace=namespace, label_selector=label_selector)
        except Exception as exc:
            raise translate(exc, f"{kind} list") from exc
        return [dict(item) for item in found.to_dict().get("items", [])]

    def patch_merge(
        self, api_version: str, kind: str, name: str, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        resource = self._resource(api_version, kind)
        try:
            result = self.dynamic.patch(
                resource, body=body, name=name, namespace=namespace, content_type="application/merge-patch+json"
            )
        except Exception as exc:
            raise translate(exc, f"{kind} {name}") from exc
        return dict(result.to_dict())

    def patch_status(
        self, api_version: str, kind: str, name: str, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        """Merge-patch the status subresource (the main resource ignores status changes)."""
        resource = self._resource(api_version, kind)
        target = getattr(resource, "subresources", {}).get("status") or resource
        try:
            result = self.dynamic.patch(
                target, body=body, name=name, namespace=namespace, content_type="application/merge-patch+json"
            )
        except Exception as exc:
            raise translate(exc, f"status of {kind} {name}") from exc
        return dict(result.to_dict())

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete (background propagation); False when it was not there."""
        from kubernetes.dynamic.exceptions import NotFoundError as Missing

        resource = self._resource(api_version, kind)
        try:
            self.dynamic.delete(resource, name=name, namespace=namespace, body={"propagationPolicy": "Background"})
        except Missing:
            return False
        except Exception as exc:
            raise translate(exc, f"{kind} {name}") from exc
        return True

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        name: str | None = None,
        timeout: int = 60,
        label_selector: str | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, object) pairs until `timeout` seconds pass."""
        resource = self._resource(api_version, kind)
        try:
            for event in self.dynamic.watch(
                resource, namespace=namespace, name=name, timeout=timeout, label_selector=label_selector
            ):
                yield event["type"], dict(event["raw_object"])
        except Exception as exc:
            raise translate(exc, f"watch of {kind}") from exc

    # --- cluster facts ----------------------------------------------------------------------------------
    def server_version(self) -> str:
        from kubernetes.client import VersionApi

        try:
            info = VersionApi(self.api).get_code()
        except Exception as exc:
            raise translate(exc, "the cluster's version") from exc
        return f"{info.major}.{info.minor}"

    def node_count(self) -> int:
        return len(self.list("v1", "Node"))

    def pod_log(self, namespace: str, pod: str, container: str, tail_lines: int | None = None) -> str:
        from kubernetes.client import CoreV1Api

        try:
            text = CoreV1Api(self.api).read_namespaced_pod_log(
                pod, namespace, container=container, tail_lines=tail_lines
            )
        except Exception as exc:
            raise translate(exc, f"log of {pod}/{container}") from exc
        return str(text)

    def port_forward(self, namespace: str, pod: str, port: int) -> Any:
        """A connected socket to `port` of `pod`, through the API server (kubectl port-forward)."""
        from kubernetes.client import CoreV1Api
        from kubernetes.stream import portforward

        try:
            forward = portforward(
                CoreV1Api(self.api).connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)
            )
            sock = forward.socket(port)
        except Exception as exc:
            raise translate(exc, f"port-forward to {pod}:{port}") from exc
        sock.setblocking(True)
        return sock
