"""Sending one scoring request, as `invoke` does on every compute: the answer, or the error a user can act on."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any

from mlk.errors import ExternalError, NotFoundError


def hint(status: int, name: str, deployment: str | None) -> str:
    return {
        404: f"no deployment takes traffic (mlk online-deployment list -e {name} shows them and their state): "
        f'mlk online-endpoint update -n {name} --traffic "<deployment>=100", or invoke with -d <deployment>',
        502: f"run() failed or crashed: mlk online-deployment get-logs -e {name} -n {deployment or '<deployment>'}",
        503: "no replica is ready yet: mlk online-deployment show shows their state",
        504: "run() took longer than request_timeout_ms",
        429: "the deployment is at capacity (max_concurrent_requests_per_instance × replicas)",
    }.get(status, "see mlk online-deployment get-logs")


def headers_for(credentials: Mapping[str, Any], deployment: str | None) -> dict[str, str]:
    token = credentials.get("primaryKey") or credentials["accessToken"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if deployment:
        headers["azureml-model-deployment"] = deployment
    return headers


def post(
    connection: http.client.HTTPConnection,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    name: str,
    deployment: str | None,
    where: str,
) -> str:
    """POST over `connection` (closed afterwards); the answer's text, or ExternalError with a hint."""
    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        reply = connection.getresponse()
        text = reply.read()
    except OSError as exc:
        raise ExternalError(f"cannot reach the endpoint's router ({where}): {exc}") from None
    finally:
        connection.close()
    return answer(reply.status, text, name, deployment)


def answer(status: int, text: bytes, name: str, deployment: str | None) -> str:
    """What `invoke` prints is the body as text, as az ml's SDK returns it (response.text()): -o tsv writes it
    as the endpoint sent it, -o json as one JSON string. Only an error's body is read, for its message."""
    if status < 400:
        return text.decode(errors="replace")
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = text.decode(errors="replace")
    message = payload.get("message") if isinstance(payload, dict) else payload
    if status == 404 and deployment and "deployment" in str(message):  # the router knows no such deployment
        raise NotFoundError(
            f"online deployment '{deployment}' does not exist in endpoint '{name}'",
            hint=f"mlk online-deployment list -e {name} shows its deployments",
        )
    raise ExternalError(f"the endpoint answered {status}: {message}", hint=hint(status, name, deployment))
