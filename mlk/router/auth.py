"""Who may score: `Authorization: Bearer <key>` (key mode) or a short-lived signed token (aml_token mode).

Keys are compared in constant time against every key, so timing tells nothing about which one nearly
matched. A token is `<endpoint>.<expiry>.<signature>` with the signature an HMAC-SHA256 of endpoint and
expiry under the endpoint's secret; `mint_token` is what `get-credentials` hands out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from mlk.router.config import EndpointConfig

TOKEN_LIFETIME_S = 3600
OPEN = "none"
"""The auth mode of Azure's local endpoints (az's --local): no key asked. mlk gives it only to endpoints of
the embedded default, whose router listens on 127.0.0.1 alone; a cluster's endpoints never have it."""


def _sign(secret: str, endpoint: str, expiry: int) -> str:
    digest = hmac.new(secret.encode(), f"{endpoint}|{expiry}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_token(
    endpoint: str, secret: str, lifetime_s: int = TOKEN_LIFETIME_S, now: float | None = None
) -> tuple[str, int]:
    """A token for `endpoint` and its expiry (unix seconds)."""
    expiry = int((now if now is not None else time.time()) + lifetime_s)
    return f"{endpoint}.{expiry}.{_sign(secret, endpoint, expiry)}", expiry


def _bearer(header: bytes | None) -> bytes | None:
    if not header or header[:7].lower() != b"bearer ":
        return None
    return header[7:].strip()


def authorized(endpoint: EndpointConfig, header: bytes | None, now: float | None = None) -> bool:
    """Does this Authorization header admit a request to `endpoint`?"""
    if endpoint.auth_mode == OPEN:
        return True
    presented = _bearer(header)
    if presented is None:
        return False
    if endpoint.auth_mode == "aml_token":
        return _token_ok(endpoint, presented, now)
    ok = False
    for key in endpoint.keys:  # no early exit: every key is compared
        ok |= hmac.compare_digest(presented, key.encode())
    return ok


def _token_ok(endpoint: EndpointConfig, presented: bytes, now: float | None) -> bool:
    if not endpoint.token_secret:
        return False
    try:
        name, expiry_text, signature = presented.decode("ascii").rsplit(".", 2)
        expiry = int(expiry_text)
    except (ValueError, UnicodeDecodeError):
        return False
    good = hmac.compare_digest(signature, _sign(endpoint.token_secret, endpoint.name, expiry))
    return good and name == endpoint.name and expiry > (now if now is not None else time.time())
