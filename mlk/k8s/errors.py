"""Kubernetes API errors as mlk errors: not-found, conflict, invalid, forbidden, unreachable — raised `from` the
client's exception, with the server's message kept short and no request body (it may hold a secret)."""

from __future__ import annotations

import json
from typing import Any

from mlk.errors import ConflictError, ExternalError, MlkError, NotFoundError, SpecError

_LIMIT = 400


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    try:
        status = json.loads(body) if body else {}
        text = str(status.get("message") or exc)
    except (ValueError, TypeError, AttributeError):
        text = str(getattr(exc, "reason", None) or exc)
    return text if len(text) <= _LIMIT else text[:_LIMIT] + "…"


def translate(exc: BaseException, what: str) -> MlkError:
    """The mlk error for a failed call about `what` (e.g. "OnlineEndpoint my-endpoint")."""
    status = getattr(exc, "status", None)
    message = _message(exc)
    if status == 404:
        return NotFoundError(f"{what} not found: {message}")
    if status == 409:
        return ConflictError(f"{what}: {message}")
    if status == 422:
        return SpecError(
            f"the cluster refused {what}: {message}", hint="mlk validates before it applies; this is worth a bug report"
        )
    if status in (401, 403):
        return ExternalError(
            f"not allowed to change {what}: {message}",
            hint="check the kube context's credentials and RBAC (kubectl auth can-i ...)",
        )
    if status is None:
        return ExternalError(
            f"cannot reach the cluster for {what}: {exc}",
            hint="check --kube-context/--kubeconfig and that the API server answers (kubectl get ns)",
        )
    return ExternalError(f"the cluster failed {what} ({status}): {message}")
