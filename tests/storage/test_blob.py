"""BlobStore against a real Azurite: block-parallel uploads, resuming, credentials, errors, read URLs."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobClient, ContainerClient, ContainerSasPermissions, generate_container_sas

from mlk.errors import ExternalError, MlkError, NotFoundError
from mlk.storage.blob import BlobStore
from mlk.storage.blocks import block_id
from mlk.storage.config import StorageConfig
from tests.storage.conftest import ACCOUNT, ACCOUNT_KEY, free_port

KiB, MiB = 1 << 10, 1 << 20


class Interrupted(Exception):
    """Stands for Ctrl-C or a dropped connection half-way through an upload."""


class StageSpy:
    """Counts the blocks BlobClient.stage_block really sends, and how many are in flight at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.bytes = 0
        self.in_flight = self.max_in_flight = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        self._delay = delay
        real = BlobClient.stage_block

        def spy(blob: BlobClient, block_id: str, data: Any, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                self.threads.add(threading.current_thread().name)
            try:
                time.sleep(self._delay)
                return real(blob, block_id, data, *args, **kwargs)
            finally:
                with self._lock:
                    self.in_flight -= 1
                    self.calls.append(block_id)
                    self.bytes += len(data)

        monkeypatch.setattr(BlobClient, "stage_block", spy)


@pytest.fixture
def small_blocks(blob_config: StorageConfig) -> Iterator[BlobStore]:
    """Blocks of 256 KiB above 512 KiB, so a 4 MiB file makes 16 blocks (same code, smaller numbers)."""
    with BlobStore(blob_config, block_size=256 * KiB, single_put_limit=512 * KiB) as store:
        yield store


@pytest.fixture
def sdk(blob_config: StorageConfig) -> Iterator[ContainerClient]:
    """The SDK's own view of the test's container, to check what BlobStore left there."""
    assert blob_config.connection_string
    with ContainerClient.from_connection_string(blob_config.connection_string, blob_config.container) as client:
        yield client


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_large_files_go_in_parallel_blocks(
    blob_config: StorageConfig, sdk: ContainerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = StageSpy(monkeypatch, delay=0.05)
    source = random_file(tmp_path / "m.bin", 18 * MiB)  # default sizes: 4 MiB blocks above 8 MiB
    with BlobStore(blob_config) as store:
        assert store.put_file("blobs/m", source) == 18 * MiB
    committed, uncommitted = sdk.get_blob_client("blobs/m").get_block_list("all")
    assert [b.size for b in committed] == [4 * MiB] * 4 + [2 * MiB]
    assert uncommitted == []
    assert len(spy.calls) == 5
    assert 2 <= spy.max_in_flight <= 4
    assert len(spy.threads) >= 2


def test_small_files_go_in_one_put(blob_config: StorageConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = StageSpy(monkeypatch)
    source = random_file(tmp_path / "s.bin", 8 * MiB)  # the limit itself: still one put
    with BlobStore(blob_config) as store:
        assert store.put_file("blobs/s", source) == 8 * MiB
        assert store.get_bytes("blobs/s") == source.read_bytes()
    assert spy.calls == []


def test_an_interrupted_upload_resumes_with_the_missing_blocks_only(
    small_blocks: BlobStore, sdk: ContainerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = random_file(tmp_path / "model.bin", 4 * MiB)  # 16 blocks

    def interrupt(n: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        small_blocks.put_file("blobs/model", source, interrupt)
    blob = sdk.get_blob_client("blobs/model")
    assert not blob.exists()  # nothing committed: readers never see half a model
    _, staged = blob.get_block_list("uncommitted")
    staged_bytes = sum(b.size for b in staged)
    assert 0 < len(staged) < 16

    spy = StageSpy(monkeypatch)
    progress: list[int] = []
    sent = small_blocks.put_file("blobs/model", source, progress.append)
    assert sent == 4 * MiB - staged_bytes
    assert len(spy.calls) == 16 - len(staged)
    assert set(spy.calls).isdisjoint(b.id for b in staged)
    assert sum(progress) == 4 * MiB  # skipped blocks count as done
    assert small_blocks.get_bytes("blobs/model") == source.read_bytes()


def test_blocks_staged_from_other_content_are_not_reused(
    small_blocks: BlobStore, sdk: ContainerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk.create_container()
    blob = sdk.get_blob_client("blobs/x")
    stale = os.urandom(256 * KiB)
    blob.stage_block(block_id(0, stale), stale)  # block 0 of some other file, same size
    source = random_file(tmp_path / "x.bin", 1 * MiB)
    spy = StageSpy(monkeypatch)
    assert small_blocks.put_file("blobs/x", source) == 1 * MiB
    assert len(spy.calls) == 4
    assert small_blocks.get_bytes("blobs/x") == source.read_bytes()


def test_the_same_block_ids_are_found_again(tmp_path: Path) -> None:
    data = b"a" * 1000
    assert block_id(3, data) == block_id(3, data)
    assert block_id(3, data) != block_id(4, data) != block_id(3, b"b" * 1000)
    assert len({len(block_id(i, os.urandom(10))) for i in range(50)}) == 1  # Azure wants equal lengths


def test_account_url_and_key(blob_config: StorageConfig, azurite: str) -> None:
    endpoint = blob_config.endpoint()
    config = StorageConfig(type="blob", account_url=endpoint, account_key=ACCOUNT_KEY, container=blob_config.container)
    with BlobStore(config) as store:
        store.put_bytes("k", b"by key")
        assert store.get_bytes("k") == b"by key"
        assert "account key" in store.describe() and ACCOUNT_KEY not in store.describe()


def test_read_url_is_read_only(blob_config: StorageConfig, tmp_path: Path) -> None:
    with BlobStore(blob_config) as store:
        store.put_bytes("models/m/weights.bin", b"weights")
        url = store.read_url("models/m", hours=1)
        container_url = store.read_url()
    assert "sp=rl" in url and "sig=" in url
    assert url.split("?")[0].endswith(f"/{blob_config.container}/models/m")
    # what a pod's init container does: a plain GET, no SDK, no key
    blob_url = url.replace("/models/m?", "/models/m/weights.bin?")
    with urllib.request.urlopen(blob_url, timeout=10) as response:
        assert response.read() == b"weights"
    with BlobStore(StorageConfig(type="blob", sas_url=container_url)) as reader:
        assert reader.get_bytes("models/m/weights.bin") == b"weights"
        with pytest.raises(ExternalError) as caught:
            reader.put_bytes("models/m/other", b"x")
    sig = container_url.split("sig=")[1].split("&")[0]
    assert "refused" in caught.value.message and "SAS" in (caught.value.hint or "")
    assert sig not in caught.value.message and sig not in str(caught.value.hint)


def test_a_writable_sas_url_needs_no_key(blob_config: StorageConfig, sdk: ContainerClient) -> None:
    sdk.create_container()
    sas = generate_container_sas(
        ACCOUNT,
        blob_config.container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    config = StorageConfig(type="blob", sas_url=f"{sdk.url}?{sas}")
    with BlobStore(config) as store:
        store.check()
        store.put_bytes("a", b"via sas")
        assert store.get_bytes("a") == b"via sas"
        assert store.describe().endswith("(SAS URL)") and sas not in store.describe()
        with pytest.raises(MlkError, match="needs the account key"):
            store.read_url()


def test_a_sas_url_for_a_missing_container(blob_config: StorageConfig) -> None:
    sas = generate_container_sas(
        ACCOUNT, "missing", account_key=ACCOUNT_KEY, permission="rwl", expiry=datetime.now(UTC) + timedelta(hours=1)
    )
    url = f"{blob_config.endpoint()}/missing?{sas}"
    with BlobStore(StorageConfig(type="blob", sas_url=url)) as store:
        for call in (store.check, lambda: store.put_bytes("a", b"x")):
            with pytest.raises(NotFoundError) as caught:
                call()
            assert "container 'missing' not found" in caught.value.message


def test_a_wrong_key_is_an_external_error_without_the_key(blob_config: StorageConfig) -> None:
    wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc="
    config = StorageConfig(
        type="blob", account_url=blob_config.endpoint(), account_key=wrong, container=blob_config.container
    )
    with BlobStore(config) as store, pytest.raises(ExternalError) as caught:
        store.check()  # what `mlk workspace create` calls: a wrong key is reported at once
    error = caught.value
    assert error.exit_code == 6 and "refused" in error.message and "403" in error.message
    assert "account key" in (error.hint or "")
    for text in (error.message, error.hint or "", str(error)):
        assert wrong not in text and wrong[:20] not in text
    assert error.__cause__ is not None  # the SDK's exception, for --debug


def test_a_malformed_key_is_an_external_error_without_the_key(blob_config: StorageConfig) -> None:
    config = StorageConfig(type="blob", account_url=blob_config.endpoint(), account_key="not-base64-SECRET!")
    with BlobStore(config) as store, pytest.raises(ExternalError, match="could not sign") as caught:
        store.exists("a")
    assert "SECRET" not in caught.value.message and "account key" in str(caught.value.hint)


def test_an_unreachable_service_is_an_external_error_without_the_sas(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/{ACCOUNT}/c?sv=2024-01-01&sp=rl&sig=SUPERSECRETSIGNATURE%3D"
    with BlobStore(StorageConfig(type="blob", sas_url=url), retries=0) as store:
        for call in (
            lambda: store.get_bytes("k"),
            lambda: store.exists("k"),
            lambda: store.get_file("k", tmp_path / "k"),
        ):
            with pytest.raises(ExternalError) as caught:
                call()
            assert "could not reach" in caught.value.message
            assert "SUPERSECRET" not in caught.value.message and "SUPERSECRET" not in str(caught.value.hint)
    assert list(tmp_path.iterdir()) == []


def test_the_container_is_created_on_first_write(blob_config: StorageConfig, sdk: ContainerClient) -> None:
    assert not sdk.exists()
    with BlobStore(blob_config) as store:
        assert not store.exists("a")  # reading does not create it
        assert not sdk.exists()
        store.put_bytes("a", b"x")
    assert sdk.exists()
