"""LocalStore and BlobStore behave the same: every test here runs on both (the `store` fixture)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlk.errors import NotFoundError, UsageError
from mlk.storage.base import Store

MiB = 1 << 20


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_bytes_round_trip_and_exists(store: Store) -> None:
    assert not store.exists("manifests/a.json")
    assert store.put_bytes("manifests/a.json", b'{"x": 1}') == 8
    assert store.exists("manifests/a.json")
    assert store.get_bytes("manifests/a.json") == b'{"x": 1}'
    assert store.put_bytes("manifests/a.json", b"{}") == 2  # overwrites
    assert store.get_bytes("manifests/a.json") == b"{}"


def test_put_file_sends_once_then_nothing(store: Store, tmp_path: Path) -> None:
    source = write(tmp_path / "model.bin", os.urandom(100_000))
    done: list[int] = []
    assert store.put_file("blobs/sha256/one", source, done.append) == 100_000
    assert sum(done) == 100_000
    done.clear()
    assert store.put_file("blobs/sha256/one", source, done.append) == 0  # same size: already there
    assert sum(done) == 100_000  # still reported as done, so a bar ends full
    assert store.get_bytes("blobs/sha256/one") == source.read_bytes()


def test_put_file_replaces_a_different_size(store: Store, tmp_path: Path) -> None:
    store.put_bytes("k", b"short")
    source = write(tmp_path / "f", b"much longer content")
    assert store.put_file("k", source) == len(b"much longer content")
    assert store.get_bytes("k") == b"much longer content"


def test_large_file_round_trip(store: Store, tmp_path: Path) -> None:
    data = os.urandom(10 * MiB + 123)  # above the 8 MiB single-put limit: blocks, for blob storage
    source = write(tmp_path / "big.bin", data)
    assert store.put_file("blobs/big", source) == len(data)
    got: list[int] = []
    dest = tmp_path / "out" / "big.bin"
    store.get_file("blobs/big", dest, got.append)
    assert dest.read_bytes() == data
    assert sum(got) == len(data)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["big.bin"]  # no temporary left behind


def test_get_file_replaces_atomically(store: Store, tmp_path: Path) -> None:
    store.put_bytes("a/b/c.txt", b"new")
    dest = write(tmp_path / "dest.txt", b"old content")
    store.get_file("a/b/c.txt", dest)
    assert dest.read_bytes() == b"new"


def test_missing_keys_are_not_found(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        store.get_bytes("blobs/nope")
    with pytest.raises(NotFoundError, match="nope"):
        store.get_file("blobs/nope", tmp_path / "out" / "x")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_source_file_is_not_found(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        store.put_file("k", tmp_path / "absent")


@pytest.mark.parametrize("key", ["", "/abs", "../up", "a/../b", "a//b", "a/./b", "back\\slash", "trailing/"])
def test_invalid_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(UsageError, match="invalid storage key"):
        store.exists(key)
    with pytest.raises(UsageError):
        store.put_bytes(key, b"x")


def test_check_reaches_the_storage(store: Store) -> None:
    store.check()
    store.check()  # again, now that the folder or container exists
    assert not store.exists(".check")


def test_read_url_and_describe(store: Store) -> None:
    url = store.read_url("manifests")
    assert url.startswith(("file://", "http://"))
    assert "manifests" in url
    assert store.describe()
