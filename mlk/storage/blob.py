"""BlobStore: a workspace's assets in an Azure Blob Storage container (or Azurite: same code, same calls).

The only module that imports azure-storage-blob (half a second to import), so `import mlk.storage` and
every command that stores locally stay fast. Three ways in: a connection string, an account URL with
its key, or a container SAS URL (which cannot create the container, nor mint read URLs).

Uploads above `single_put_limit` (8 MiB) go in `block_size` (4 MiB) blocks, `concurrency` (4) at a time,
and resume: see mlk.storage.blocks. Every SDK exception is turned into NotFoundError or ExternalError
here, with a hint, raised `from` the original, its text scrubbed of keys and SAS signatures.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobBlock,
    ContainerClient,
    ContainerSasPermissions,
    ExponentialRetry,
    generate_container_sas,
)

from mlk.errors import ExternalError, MlkError, NotFoundError, UsageError
from mlk.storage.base import (
    ClosedOnExit,
    ProgressFn,
    StrPath,
    check_key,
    check_prefix,
    remove_quietly,
    temp_sibling,
)
from mlk.storage.blocks import upload_blocks
from mlk.storage.config import StorageConfig

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

MiB = 1 << 20
SETTINGS_HINT = (
    "a connection string reads DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;"
    "EndpointSuffix=core.windows.net; an account URL https://<account>.blob.core.windows.net"
)
CREDENTIALS_HINT = (
    "check the storage credentials: the account key or connection string, or the SAS token's permissions "
    "(a read-only SAS cannot write) and expiry"
)


class BlobStore(ClosedOnExit):
    """Keys are blob names in one container; the container is created on the first write when the
    credentials allow it (a connection string or an account key; not a SAS URL)."""

    def __init__(
        self,
        config: StorageConfig,
        *,
        block_size: int = 4 * MiB,
        single_put_limit: int = 8 * MiB,
        concurrency: int = 4,
        retries: int = 3,
    ) -> None:
        self.config = config
        self.block_size = block_size
        self.single_put_limit = single_put_limit
        self.concurrency = concurrency
        self._client = _container_client(config, retries)
        self._container_ready = bool(config.sas_url)  # a container SAS cannot create its container

    # -- the Store protocol --------------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        with self._errors("look up", key):
            return bool(self._blob(key).exists())

    def put_file(self, key: str, path: StrPath, on_progress: ProgressFn | None = None) -> int:
        source = Path(path)
        try:
            size = source.stat().st_size
        except FileNotFoundError as e:
            raise NotFoundError(f"{source} does not exist") from e
        blob = self._blob(key)
        with self._errors("upload", key):
            if self._size(blob) == size:
                if on_progress:
                    on_progress(size)
                return 0
            self._ensure_container()
            if size <= self.single_put_limit:
                data = source.read_bytes()
                blob.upload_blob(data, overwrite=True, length=len(data))
                if on_progress:
                    on_progress(len(data))
                return len(data)
            upload = upload_blocks(
                source,
                size,
                self.block_size,
                _uncommitted(blob),
                lambda block_id, data: _stage(blob, block_id, data),
                concurrency=self.concurrency,
                on_progress=on_progress,
            )
            blob.commit_block_list([BlobBlock(block_id=b) for b in upload.block_ids])
            return upload.bytes_sent

    def put_bytes(self, key: str, data: bytes) -> int:
        with self._errors("upload", key):
            self._ensure_container()
            self._blob(key).upload_blob(data, overwrite=True, length=len(data))
        return len(data)

    def get_file(self, key: str, dest: StrPath, on_progress: ProgressFn | None = None) -> None:
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_sibling(target)
        done = [0]
        lock = threading.Lock()

        def hook(current: int, total: int | None) -> None:
            # called from the SDK's download threads, with running totals that may arrive out of order
            with lock:
                delta, done[0] = current - done[0], max(done[0], current)
            if on_progress and delta > 0:
                on_progress(delta)

        try:
            with self._errors("download", key), open(tmp, "wb") as out:
                self._blob(key).download_blob(max_concurrency=self.concurrency, progress_hook=hook).readinto(out)
            os.replace(tmp, target)
        except BaseException:
            remove_quietly(tmp)
            raise

    def get_bytes(self, key: str) -> bytes:
        with self._errors("download", key):
            return self._blob(key).download_blob(max_concurrency=self.concurrency).readall()

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Blob names, page by page as the service sends them (lexicographic order)."""
        return self._names(check_prefix(prefix))  # checked now, not at the first next()

    def _names(self, prefix: str) -> Iterator[str]:
        with self._errors("list", prefix):
            try:
                yield from self._client.list_blob_names(name_starts_with=prefix or None)
            except ResourceNotFoundError as e:
                # no container yet (it is made on the first write): nothing stored. A SAS URL's container
                # is never made by mlk, so its absence is reported.
                if _code(e) != "ContainerNotFound" or self.config.sas_url:
                    raise

    def read_url(self, key_prefix: str = "", *, hours: float = 24.0) -> str:
        """A container SAS URL (read and list only; https only for an https account) valid for `hours`,
        pointing at `key_prefix`."""
        check_key(key_prefix, allow_empty=True)
        account_key = getattr(self._client.credential, "account_key", None)
        if not account_key:
            raise MlkError(
                f"cannot make a read-only URL for {self.describe()}: that needs the account key",
                hint="configure the storage with a connection string that has AccountKey, or account_url and "
                "account_key",
            )
        now = datetime.now(UTC)
        base = self._client.url.split("?", 1)[0].rstrip("/")
        sas = generate_container_sas(
            account_name=self._client.account_name or "",
            container_name=self._client.container_name,
            account_key=account_key,
            permission=ContainerSasPermissions(read=True, list=True),  # sp=rl, nothing else
            start=now - timedelta(minutes=5),  # tolerate clock skew
            expiry=now + timedelta(hours=hours),
            protocol=sas_protocol(base),
        )
        return f"{base}/{quote(key_prefix)}?{sas}" if key_prefix else f"{base}?{sas}"

    def describe(self) -> str:
        return self.config.describe()

    def check(self) -> None:
        """With a key: create the container if missing (proves the key is accepted). With a SAS URL: look a
        blob up (proves the URL reaches an existing container)."""
        with self._errors("check access to the container", ""):
            if not self.config.sas_url:
                with suppress(ResourceExistsError):
                    self._client.create_container()
                self._container_ready = True
                return
            try:
                self._blob(".check").get_blob_properties()
            except ResourceNotFoundError as e:
                if _code(e) == "ContainerNotFound":
                    raise

    def close(self) -> None:
        self._client.close()

    # -- helpers -------------------------------------------------------------------------------------------

    def _blob(self, key: str) -> BlobClient:
        return self._client.get_blob_client(check_key(key))

    @staticmethod
    def _size(blob: BlobClient) -> int | None:
        """The committed blob's size; None when there is no blob."""
        try:
            return int(blob.get_blob_properties().size)
        except ResourceNotFoundError:
            return None

    def _ensure_container(self) -> None:
        if self._container_ready:
            return
        with suppress(ResourceExistsError):
            self._client.create_container()
        self._container_ready = True

    @contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        """Azure SDK exceptions → mlk errors, secrets scrubbed, the original kept as __cause__."""
        what = f"{action} '{key}'" if key else action
        try:
            yield
        except ResourceNotFoundError as e:
            if _code(e) == "ContainerNotFound" and self.config.sas_url:
                raise NotFoundError(
                    f"container '{self._client.container_name}' not found at {self.config.endpoint()}",
                    hint="a SAS URL cannot create its container: create it, or configure an account key instead",
                ) from e
            raise NotFoundError(f"'{key}' not found in {self.describe()}") from e
        except HttpResponseError as e:
            if e.status_code is None:  # failed before any request: signing with a malformed key, say
                raise ExternalError(
                    f"could not sign the request to {what}: {self._reason(e)}", hint=CREDENTIALS_HINT
                ) from e
            status = f"HTTP {e.status_code} {_code(e)}".strip()
            if e.status_code in (401, 403):
                raise ExternalError(f"{self.describe()} refused to {what} ({status})", hint=CREDENTIALS_HINT) from e
            raise ExternalError(
                f"could not {what} in {self.describe()}: {status}",
                hint="the storage service reported an error; try again, or check its status",
            ) from e
        except (ServiceRequestError, ServiceResponseError) as e:
            raise ExternalError(
                f"could not reach {self.config.redact(self.config.endpoint())} to {what}: {self._reason(e)}",
                hint="check the account URL (or connection string) and that the storage service is reachable",
            ) from e
        except AzureError as e:
            raise ExternalError(f"could not {what} in {self.describe()}: {self._reason(e)}") from e

    def _reason(self, e: BaseException) -> str:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return self.config.redact(first)[:300]


def sas_protocol(account_url: str) -> str:
    """The protocols (`spr=`) a SAS for `account_url` allows: https only for an https account. An http account
    URL is an emulator's (Azurite) or a local development account's, which serves plain http only: its SAS
    must allow http too, or it would be refused ("https,http")."""
    return "https" if urlsplit(account_url).scheme.lower() != "http" else "https,http"


def _stage(blob: BlobClient, block_id: str, data: bytes) -> None:
    blob.stage_block(block_id, data, length=len(data))


def _uncommitted(blob: BlobClient) -> dict[str, int]:
    """{block id: size} of the blocks staged but not committed: what an interrupted upload left behind."""
    try:
        _, uncommitted = blob.get_block_list("uncommitted")
    except ResourceNotFoundError:
        return {}
    return {b.id: b.size for b in uncommitted}


def _code(e: HttpResponseError) -> str:
    code = getattr(e, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _container_client(config: StorageConfig, retries: int) -> ContainerClient:
    """The SDK client for the configured container (no network I/O happens here)."""
    retry = ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=retries)
    try:
        if config.connection_string:
            return ContainerClient.from_connection_string(
                config.connection_string, config.container, retry_policy=retry
            )
        if config.sas_url:
            return ContainerClient.from_container_url(config.sas_url, retry_policy=retry)
        url = config.account_url or ""
        credential = {"account_name": _account_name(url), "account_key": config.account_key or ""}
        return ContainerClient(url, config.container, credential=credential, retry_policy=retry)
    except ValueError as e:
        raise UsageError(f"invalid blob storage settings: {config.redact(str(e))}", hint=SETTINGS_HINT) from e


def _account_name(account_url: str) -> str:
    """`acct` from https://acct.blob.core.windows.net; from an emulator's http://host:port/acct, the path."""
    parts = urlsplit(account_url)
    host = parts.hostname or ""
    if "." in host and not host.replace(".", "").isdigit():
        return host.split(".", 1)[0]
    return parts.path.strip("/").split("/", 1)[0]
