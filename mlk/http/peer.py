"""Replicas that answer only their router: the embedded default's guard against other local users.

On one machine every user can reach 127.0.0.1:<replica port>, which would score a deployment around its
endpoint's keys. So the workspace agent makes a secret when it starts, hands it to its replicas in their
environment (readable by their owner alone: /proc/<pid>/environ is 0400) and sends it on every request
it forwards or probes; `mlk serve` with MLK_REPLICA_TOKEN set answers 401 to any request without it.
On Kubernetes a pod's NetworkPolicy does this job and no token is set.
"""

from __future__ import annotations

import hmac
import secrets

HEADER = "x-mlk-replica-token"
ENV = "MLK_REPLICA_TOKEN"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def header_line(token: str | None) -> bytes:
    """The header as the router writes it into a forwarded request ('' without a token)."""
    return b"%s: %s\r\n" % (HEADER.encode(), token.encode()) if token else b""


def admitted(token: bytes, given: str | None) -> bool:
    """Whether a request carries the replica's token (compared in constant time)."""
    return given is not None and hmac.compare_digest(token, given.encode("latin-1"))
