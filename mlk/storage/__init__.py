"""Where workspace assets (models, code snapshots) live: a local folder or an Azure Blob container.

    from mlk.storage import StorageConfig, open_store
    with open_store(StorageConfig(type="local", path="~/.mlk/storage")) as store:
        store.put_file("blobs/sha256/<hex>", "model.pkl")

Assets are stored content-addressed by mlk.storage.cas (manifests of SHA-256 blobs), so an unchanged
model is never sent twice. Backends are imported when opened: `import mlk.storage` costs nothing, and
azure-storage-blob (slow to import) loads only for blob storage.
"""

from __future__ import annotations

from mlk.errors import UsageError
from mlk.storage.base import ProgressFn, Store
from mlk.storage.config import StorageConfig

__all__ = ["ProgressFn", "StorageConfig", "Store", "open_store"]


def open_store(config: StorageConfig) -> Store:
    """The backend `config` describes; close it (or use `with`) when done."""
    if config.type == "blob":
        from mlk.storage.blob import BlobStore

        return BlobStore(config)
    if not config.path:
        raise UsageError("local storage needs a folder", hint="set the storage path")
    from mlk.storage.local import LocalStore

    return LocalStore(config.path)
