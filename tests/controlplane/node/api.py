"""The node agent's HTTP client of the API server: its own identity (system:node:<name>, a client
certificate from its kubeconfig), plain JSON, list + watch as a kubelet's informers do.

Written against the API directly, not through mlk.k8s: the harness must not share the blind spots of the
code it tests.
"""

from __future__ import annotations

import base64
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
import yaml


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status


class Api:
    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.server = cluster["server"]
        folder = Path(tempfile.mkdtemp(prefix="mlk-node-api-"))
        files = {}
        for key, name in (
            ("certificate-authority-data", "ca"),
            ("client-certificate-data", "crt"),
            ("client-key-data", "key"),
        ):
            source = cluster if key.startswith("certificate-authority") else user
            path = folder / name
            path.write_bytes(base64.b64decode(source[key]))
            path.chmod(0o600)
            files[name] = str(path)
        self._local = threading.local()
        self.verify, self.cert = files["ca"], (files["crt"], files["key"])

    @property
    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify, session.cert = self.verify, self.cert
            session.trust_env = False  # no proxy, no CA bundle from the environment: this cluster is local
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        ok_missing: bool = False,
    ) -> Any:
        data = None if body is None else json.dumps(body)
        answer = self.session.request(
            method, self.server + path, data=data, params=params, headers={"Content-Type": content_type}, timeout=30
        )
        if ok_missing and answer.status_code == 404:
            return None
        if answer.status_code >= 400:
            raise ApiError(answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def merge_patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def watch(
        self,
        path: str,
        params: dict[str, str],
        on_event: Callable[[str, dict[str, Any]], None],
        stopping: threading.Event,
    ) -> None:
        """List, then watch from the list's resourceVersion; list again when the watch expires (410)."""
        while not stopping.is_set():
            listed = self.get(path, params=params)
            version = listed["metadata"]["resourceVersion"]
            on_event("SYNC", {"items": listed["items"]})
            try:
                for event in self._stream(
                    path,
                    {
                        **params,
                        "watch": "1",
                        "resourceVersion": version,
                        "allowWatchBookmarks": "true",
                        "timeoutSeconds": "300",
                    },
                ):
                    if stopping.is_set():
                        return
                    if event["type"] == "ERROR":
                        break  # 410 Gone: list again
                    if event["type"] != "BOOKMARK":
                        on_event(event["type"], event["object"])
            except (requests.RequestException, ValueError):
                stopping.wait(1)

    def _stream(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        with self.session.get(self.server + path, params=params, stream=True, timeout=(10, 330)) as answer:
            if answer.status_code >= 400:
                raise ApiError(answer.status_code, answer.text)
            for line in answer.iter_lines():
                if line:
                    yield json.loads(line)
