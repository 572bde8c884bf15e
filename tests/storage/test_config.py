"""StorageConfig: validation, descriptions without secrets, redaction; open_store; cheap imports; the bar."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mlk.errors import UsageError
from mlk.storage import StorageConfig, open_store
from mlk.storage.local import LocalStore
from mlk.storage.progress import progress_bar

KEY = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIzNA=="
SIG = "AbCdEfSiGnAtUrE%2Bxyz%3D"
CONFIGS = {
    "connection string": StorageConfig(
        type="blob",
        connection_string=f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net",
    ),
    "account key": StorageConfig(type="blob", account_url="https://acct.blob.core.windows.net", account_key=KEY),
    "SAS URL": StorageConfig(
        type="blob", sas_url=f"https://acct.blob.core.windows.net/models?sv=2024-01-01&sp=rl&sig={SIG}"
    ),
}


@pytest.mark.parametrize("how", CONFIGS)
def test_describe_and_repr_never_show_secrets(how: str) -> None:
    config = CONFIGS[how]
    for text in (config.describe(), repr(config), str(config)):
        assert KEY not in text and SIG not in text and "sig=" not in text
    assert config.describe().startswith("blob container '") and config.describe().endswith(f"({how})")
    assert "https://acct.blob.core.windows.net" in config.describe()


def test_container_and_endpoint() -> None:
    assert CONFIGS["SAS URL"].container_name() == "models"
    assert CONFIGS["account key"].container_name() == "mlk"
    assert CONFIGS["connection string"].endpoint() == "https://acct.blob.core.windows.net"
    dev = StorageConfig(type="blob", connection_string="UseDevelopmentStorage=true")
    assert dev.endpoint() == "http://127.0.0.1:10000/devstoreaccount1"
    local = StorageConfig(path="/data/store")
    assert local.type == "local" and local.describe() == "local folder /data/store"


def test_redact_scrubs_keys_and_signatures_in_any_text() -> None:
    config = CONFIGS["account key"]
    text = f"failed: GET https://h/c/b?sv=1&sig={SIG}&se=2 with AccountKey={KEY}; key {KEY}"
    cleaned = config.redact(text)
    assert SIG not in cleaned and KEY not in cleaned
    assert "sig=***" in cleaned and "AccountKey=***" in cleaned
    other = StorageConfig(type="blob", sas_url="https://h/c?sig=zzz").redact("AccountKey=abc;sig=qq&x=1")
    assert other == "AccountKey=***;sig=***&x=1"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": "s3"},
        {"type": "blob"},
        {"type": "blob", "account_url": "https://a.blob.core.windows.net"},
        {"type": "blob", "connection_string": "x", "sas_url": "https://h/c?sig=1"},
    ],
)
def test_invalid_configurations(kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        StorageConfig(**kwargs)  # type: ignore[arg-type]


def test_open_store(tmp_path: Path) -> None:
    with open_store(StorageConfig(path=str(tmp_path))) as store:
        assert isinstance(store, LocalStore) and store.root == tmp_path
        assert store.read_url("blobs") == (tmp_path / "blobs").as_uri()
    with pytest.raises(UsageError, match="needs a folder"):
        open_store(StorageConfig(type="local"))


def test_a_bad_connection_string_is_a_usage_error_without_the_key() -> None:
    from mlk.storage.blob import BlobStore

    with pytest.raises(UsageError) as caught:
        BlobStore(StorageConfig(type="blob", connection_string=f"AccountKey={KEY};nothing else"))
    assert KEY not in caught.value.message and KEY not in str(caught.value.hint)


def test_importing_storage_loads_neither_azure_nor_rich() -> None:
    code = "import sys, mlk.storage.cas; print([m for m in sys.modules if m.startswith(('azure', 'rich'))])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_progress_bar_counts_bytes() -> None:
    out = io.StringIO()
    with progress_bar(1000, "uploading model-1", console=Console(file=out, width=100)) as advance:
        advance(400)
        advance(600)
    assert "uploading model-1" in out.getvalue() and "1.0/1.0 kB" in out.getvalue()
