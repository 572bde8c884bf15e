"""Endpoint credentials: two keys and a token secret per endpoint, from the OS's CSPRNG, stored 0600.

Keys never go to logs or to the model; the router reads them from here (and takes a regenerated key
without a restart, on its next reload).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from mlk.workspace.files import read_json, write_json
from mlk.workspace.home import Workspace


def _new_key() -> str:
    return secrets.token_urlsafe(32)


def ensure_keys(ws: Workspace, endpoint: str) -> dict[str, str]:
    path = ws.keys_dir / f"{endpoint}.json"
    keys: dict[str, str] = read_json(path, {})
    if not keys:
        keys = {"primaryKey": _new_key(), "secondaryKey": _new_key(), "tokenSecret": _new_key()}
        write_json(path, keys)
    return keys


def read_keys(ws: Workspace, endpoint: str) -> dict[str, str]:
    keys: dict[str, str] = read_json(ws.keys_dir / f"{endpoint}.json", {})
    return keys


def regenerate(ws: Workspace, endpoint: str, which: str) -> None:
    keys = ensure_keys(ws, endpoint)
    keys["primaryKey" if which == "primary" else "secondaryKey"] = _new_key()
    write_json(ws.keys_dir / f"{endpoint}.json", keys)


def delete_keys(ws: Workspace, endpoint: str) -> None:
    (ws.keys_dir / f"{endpoint}.json").unlink(missing_ok=True)


def credentials(ws: Workspace, endpoint: str, auth_mode: str) -> dict[str, Any]:
    """What get-credentials prints for an endpoint of the embedded default."""
    return present(endpoint, ensure_keys(ws, endpoint), auth_mode)


def present(endpoint: str, keys: Mapping[str, str], auth_mode: str) -> dict[str, Any]:
    """Keys (key mode) or a fresh token (aml_token mode), as az ml names them; `endpoint` is the name the
    router knows the endpoint by (tokens are signed for it)."""
    if auth_mode == "aml_token":
        from mlk.router.auth import TOKEN_LIFETIME_S, mint_token

        token, expiry = mint_token(endpoint, keys["tokenSecret"])
        return {
            "accessToken": token,
            "tokenType": "Bearer",
            "expiryTimeUtc": expiry,
            "refreshAfterTimeUtc": int(time.time() + TOKEN_LIFETIME_S / 2),
        }
    return {"primaryKey": keys["primaryKey"], "secondaryKey": keys["secondaryKey"]}
