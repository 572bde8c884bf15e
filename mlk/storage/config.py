"""Where a workspace keeps its assets: a local folder, or an Azure Blob Storage container.

A StorageConfig is plain data (it comes from workspace.json or from flags) and may hold secrets: an
account key, a connection string with a key in it, a SAS URL whose `sig=` is a credential. Those fields
are left out of repr(), `describe()` never shows them, and `redact()` scrubs them from any text that is
about to reach a user or a log (the SDK's messages quote request URLs, SAS signature included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from mlk.errors import UsageError

StorageType = Literal["local", "blob"]

_SECRET_PATTERNS = (
    re.compile(r"(?i)(AccountKey=)[^;\s'\"]+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s'\"]+"),
    re.compile(r"(?i)(\bsig=)[^&\s'\"]+"),
)
REDACTED = "***"

# A service SAS's permissions (`sp=`), by letter. Pods get read and list only: anything else is refused.
POD_SAS_PERMISSIONS = "rl"
_SAS_PERMISSION_NAMES = {
    "r": "read",
    "a": "add",
    "c": "create",
    "w": "write",
    "d": "delete",
    "x": "delete versions",
    "y": "permanent delete",
    "l": "list",
    "t": "tags",
    "f": "filter by tags",
    "m": "move",
    "e": "execute",
    "o": "ownership",
    "p": "permissions",
    "i": "immutability policy",
}
READ_ONLY_SAS_HINT = (
    "give the workspace an account key or a connection string (mlk then derives a read-only SAS for the pods), "
    "or a SAS URL with only read and list permissions (sp=rl)"
)


@dataclass(frozen=True)
class StorageConfig:
    """One of: a local folder (`path`), or a blob container reached by a connection string, an account URL
    with its key, or a container SAS URL."""

    type: StorageType = "local"
    path: str | None = None
    """The local store's root folder (type local)."""
    connection_string: str | None = field(default=None, repr=False)
    """An Azure Storage connection string (it usually carries the account key)."""
    account_url: str | None = None
    """`https://<account>.blob.core.windows.net` (or Azurite's `http://127.0.0.1:10000/devstoreaccount1`)."""
    account_key: str | None = field(default=None, repr=False)
    """The account key that goes with `account_url`."""
    sas_url: str | None = field(default=None, repr=False)
    """A container SAS URL: `https://<account>.blob.core.windows.net/<container>?sv=...&sig=...`."""
    container: str = "mlk"
    """The container that holds the assets (ignored with `sas_url`, which names its own)."""

    def __post_init__(self) -> None:
        if self.type not in ("local", "blob"):
            raise UsageError(f"unknown storage type '{self.type}'", hint="storage type is 'local' or 'blob'")
        if self.type == "local":
            return
        modes = [bool(self.connection_string), bool(self.account_url), bool(self.sas_url)]
        if sum(modes) != 1:
            raise UsageError(
                "blob storage needs exactly one of: a connection string, an account URL with its key, a SAS URL",
                hint="set connection_string, or account_url and account_key, or sas_url",
            )
        if self.account_url and not self.account_key:
            raise UsageError("blob storage with an account URL needs its account key", hint="set account_key")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret string this configuration holds (for literal scrubbing)."""
        found = [s for s in (self.connection_string, self.account_key) if s]
        if self.sas_url and urlsplit(self.sas_url).query:
            found.append(urlsplit(self.sas_url).query)
        if self.connection_string:
            found += [
                v for k, v in _pairs(self.connection_string).items() if k in ("accountkey", "sharedaccesssignature")
            ]
        return tuple(s for s in found if len(s) >= 4)

    def redact(self, text: str) -> str:
        """`text` without this configuration's secrets, nor anything that looks like a key or a signature."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def endpoint(self) -> str:
        """The account's blob endpoint, without credentials (`https://acct.blob.core.windows.net`)."""
        if self.account_url:
            return self.account_url.rstrip("/")
        if self.sas_url:
            parts = urlsplit(self.sas_url)
            account_path = parts.path.rstrip("/").rsplit("/", 1)[0]
            return urlunsplit((parts.scheme, parts.netloc, account_path, "", ""))
        pairs = _pairs(self.connection_string or "")
        if pairs.get("usedevelopmentstorage", "").lower() == "true":
            return "http://127.0.0.1:10000/devstoreaccount1"
        if pairs.get("blobendpoint"):
            return pairs["blobendpoint"].rstrip("/")
        protocol = pairs.get("defaultendpointsprotocol", "https")
        suffix = pairs.get("endpointsuffix", "core.windows.net")
        return f"{protocol}://{pairs.get('accountname', '?')}.blob.{suffix}"

    def container_name(self) -> str:
        """The container in use: the SAS URL's own, or `container`."""
        if self.sas_url:
            return urlsplit(self.sas_url).path.rstrip("/").rsplit("/", 1)[-1]
        return self.container

    def describe(self) -> str:
        """A one-line description for messages and `mlk workspace show`; never includes a secret."""
        if self.type == "local":
            return f"local folder {self.path or '(unset)'}"
        how = "connection string" if self.connection_string else "account key" if self.account_url else "SAS URL"
        return self.redact(f"blob container '{self.container_name()}' at {self.endpoint()} ({how})")


def pod_sas_refusal(sas_url: str) -> str | None:
    """Why this SAS URL must not be handed on to pods, or None when it grants read and list only (or carries
    no signature, hence no credential). Read from the URL's query string only (`sp=`); never quotes `sig=`."""
    query = parse_qs(urlsplit(sas_url).query)
    if not query.get("sig"):
        return None
    permissions = "".join(query.get("sp", []))
    if not permissions:
        return (
            "the workspace's SAS URL does not say what it grants (no sp=; a stored access policy's si= holds it), "
            "so mlk cannot tell that it is read-only"
        )
    extra = [_SAS_PERMISSION_NAMES.get(p, repr(p)) for p in permissions if p not in POD_SAS_PERMISSIONS]
    if not extra:
        return None
    return f"the workspace's SAS URL grants {', '.join(extra)} (sp={permissions}), not only read and list"


def sas_allows_http(sas_url: str) -> bool:
    """Whether a signed https SAS URL may also be used over plain http (`spr=https,http`, or no `spr=`), which
    exposes its signature to anyone on the path. An http URL (Azurite, a development account) is not asked."""
    parts = urlsplit(sas_url)
    query = parse_qs(parts.query)
    if parts.scheme != "https" or not query.get("sig"):
        return False
    protocols = ",".join(query.get("spr", [])) or "https,http"
    return "http" in [p.strip() for p in protocols.split(",")]


def sas_url_warnings(config: StorageConfig) -> list[str]:
    """What is wrong with this workspace's SAS URL, said when the workspace is made (none without a SAS URL)."""
    if not config.sas_url:
        return []
    warnings = []
    refusal = pod_sas_refusal(config.sas_url)
    if refusal:
        warnings.append(
            f"{refusal}. Pods on Kubernetes would receive it, so the operator refuses to hand it to them: "
            f"Kubernetes deployments of this workspace will fail. To deploy there, {READ_ONLY_SAS_HINT}"
        )
    if sas_allows_http(config.sas_url):
        warnings.append(
            "the workspace's SAS URL may also be used over plain http (spr=https,http or no spr=), which shows "
            "its signature to anyone on the way: make it for https only (spr=https)"
        )
    return warnings


def _pairs(connection_string: str) -> dict[str, str]:
    """`Key=Value;...` → {lowercased key: value}; values may contain '=' (base64 keys end with it)."""
    pairs: dict[str, str] = {}
    for part in connection_string.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip().lower()] = value.strip()
    return pairs
