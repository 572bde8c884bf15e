"""Content-addressed trees: manifests, hashing with a cache, upload and materialise on both backends."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlk.errors import ExternalError, MlkError, NotFoundError
from mlk.storage import cas, hashing
from mlk.storage.base import Store
from mlk.storage.cas import HashCache, Manifest, ManifestFile, blob_key, hash_tree, materialize, upload_tree

LONG_AGO = time.time_ns() - 3600 * 10**9


def make_tree(root: Path, files: dict[str, bytes], *, old: bool = True) -> Path:
    """Write `files` under root; old=True backdates them (the hash cache trusts only settled files)."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if old:
            os.utime(path, ns=(LONG_AGO, LONG_AGO))
    return root


def tree_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


MODEL = {"model.pkl": b"pickle" * 1000, "conf/settings.json": b"{}", ".hidden": b"h", "conf/deep/x.txt": b"x"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- manifests --------------------------------------------------------------------------------------------


def test_manifest_digest_is_canonical() -> None:
    a = ManifestFile("a.txt", sha(b"a"), 1)
    b = ManifestFile("b/c.txt", sha(b"b"), 1)
    one = Manifest("m", "folder", (a, b))
    assert one.files == (a, b)
    assert Manifest("m", "folder", (b, a)).digest == one.digest  # order given does not matter
    assert Manifest("other", "folder", (a, b)).digest != one.digest  # the name is part of the identity
    assert Manifest.from_json(one.to_json()) == one
    assert Manifest.from_json(one.to_json().encode()).digest == one.digest


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "a\\b", "", "a//b", "."])
def test_manifests_with_unsafe_paths_are_refused(path: str) -> None:
    text = json.dumps(
        {
            "format": "mlk-manifest/1",
            "name": "m",
            "kind": "folder",
            "files": [{"path": path, "sha256": sha(b""), "size": 0}],
        }
    )
    with pytest.raises(ExternalError, match="not a safe relative path"):
        Manifest.from_json(text)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"path": "a", "size": 1e999', "unreadable: cannot convert float infinity"),  # JSON's infinity
        ('"path": "a\\ud800", "size": 0', "not valid Unicode"),  # a lone surrogate: no UTF-8, so no digest
    ],
)
def test_stored_manifests_that_cannot_be_one_are_refused(entry: str, message: str) -> None:
    file = {"sha256": sha(b""), "?": 0}
    stored = json.dumps({"format": "mlk-manifest/1", "name": "m", "kind": "folder", "files": [file]})
    stored = stored.replace('"?": 0', entry)
    with pytest.raises(ExternalError, match=message):
        Manifest.from_json(stored)


def test_a_manifest_nested_too_deeply_is_unreadable_not_a_crash() -> None:
    with pytest.raises(ExternalError, match="nested too deeply"):
        Manifest.from_json("[" * 100_000 + "]" * 100_000)


def test_a_manifest_whose_file_is_also_a_folder_is_refused() -> None:
    files = (ManifestFile("a", sha(b"a"), 1), ManifestFile("a/b/c", sha(b"c"), 1))
    with pytest.raises(ExternalError, match="'a' as a file and as the folder of 'a/b/c'"):
        Manifest("m", "folder", files)


def test_a_tampered_manifest_is_refused() -> None:
    manifest = Manifest("m", "folder", (ManifestFile("a", sha(b"a"), 1),))
    data = json.loads(manifest.to_json())
    data["files"][0]["size"] = 2
    with pytest.raises(ExternalError, match="does not match its digest"):
        Manifest.from_json(json.dumps(data))
    data["files"][0]["sha256"] = "../../etc"
    with pytest.raises(ExternalError, match="invalid sha256"):
        Manifest.from_json(json.dumps(data))


# -- hashing ----------------------------------------------------------------------------------------------


def test_hash_a_file(tmp_path: Path) -> None:
    path = make_tree(tmp_path, {"model.pkl": b"weights"}) / "model.pkl"
    manifest = hash_tree(path)
    assert (manifest.name, manifest.kind) == ("model.pkl", "file")
    assert manifest.files == (ManifestFile("model.pkl", sha(b"weights"), 7),)


def test_hash_a_folder_skips_nothing_and_sorts(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "model-1", MODEL)
    manifest = hash_tree(root)
    assert (manifest.name, manifest.kind) == ("model-1", "folder")
    assert [f.path for f in manifest.files] == [".hidden", "conf/deep/x.txt", "conf/settings.json", "model.pkl"]
    assert {f.path: f.sha256 for f in manifest.files} == {k: sha(v) for k, v in MODEL.items()}
    elsewhere = make_tree(tmp_path / "copy" / "model-1", MODEL)
    assert hash_tree(elsewhere).digest == manifest.digest  # identity: name and content, not location
    assert hash_tree(tmp_path / "model-1" / ".." / "model-1").digest == manifest.digest


def test_symlinks_inside_the_tree_are_followed(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", {"data/w.bin": b"w"})
    (root / "alias.bin").symlink_to("data/w.bin")
    (root / "more").symlink_to("data", target_is_directory=True)
    paths = {f.path: f.sha256 for f in hash_tree(root).files}
    assert paths == {"alias.bin": sha(b"w"), "data/w.bin": sha(b"w"), "more/w.bin": sha(b"w")}


@pytest.mark.parametrize(
    ("target", "message"),
    [("../outside.txt", "outside the folder"), ("missing", "broken"), (".", "cycle")],
)
def test_links_out_of_the_tree_broken_or_cyclic_are_errors(tmp_path: Path, target: str, message: str) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    root = make_tree(tmp_path / "m", {"a.txt": b"a"})
    (root / "link").symlink_to(target)
    with pytest.raises(MlkError, match=message):
        hash_tree(root)


def test_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        hash_tree(tmp_path / "nothing")


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file hashing.hash_file actually reads."""
    calls: list[Path] = []
    real = hashing.hash_file

    def counting(path: Path) -> tuple[str, int]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(hashing, "hash_file", counting)
    return calls


def test_the_hash_cache_avoids_rehashing(tmp_path: Path, hash_calls: list[Path]) -> None:
    root = make_tree(tmp_path / "m", MODEL)
    cache_file = tmp_path / "cache" / "hashes.json"
    first = hash_tree(root, HashCache(cache_file))
    assert len(hash_calls) == 4 and cache_file.exists()
    hash_calls.clear()
    assert hash_tree(root, HashCache(cache_file)) == first  # a new process: read from the JSON file
    assert hash_calls == []


def test_the_hash_cache_trusts_size_and_mtime(tmp_path: Path) -> None:
    """The mtime trick: same size, mtime put back → the cached hash is used, the new bytes are not read."""
    path = make_tree(tmp_path, {"w.bin": b"AAAA"}) / "w.bin"
    cache_file = tmp_path / "hashes.json"
    assert hash_tree(path, HashCache(cache_file)).files[0].sha256 == sha(b"AAAA")
    path.write_bytes(b"BBBB")
    os.utime(path, ns=(LONG_AGO, LONG_AGO))
    assert hash_tree(path, HashCache(cache_file)).files[0].sha256 == sha(b"AAAA")  # not re-read
    assert hash_tree(path).files[0].sha256 == sha(b"BBBB")
    os.utime(path, ns=(LONG_AGO + 1, LONG_AGO + 1))  # any change of mtime (or size) means: read again
    assert hash_tree(path, HashCache(cache_file)).files[0].sha256 == sha(b"BBBB")


def test_files_modified_just_now_are_not_cached(tmp_path: Path, hash_calls: list[Path]) -> None:
    root = make_tree(tmp_path / "m", {"fresh.bin": b"f"}, old=False)
    cache = HashCache(tmp_path / "hashes.json")
    hash_tree(root, cache)
    hash_tree(root, cache)
    assert len(hash_calls) == 2  # a rewrite within the same mtime tick would go unnoticed otherwise


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    path = make_tree(tmp_path, {"w.bin": b"w"}) / "w.bin"
    (tmp_path / "hashes.json").write_text("{not json")
    assert hash_tree(path, HashCache(tmp_path / "hashes.json")).files[0].sha256 == sha(b"w")


# -- upload and materialise (both backends) ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_round_trip(store: Store, tmp_path: Path, kind: str) -> None:
    tree = make_tree(tmp_path / "src" / "model-1", MODEL)
    source = tree / "model.pkl" if kind == "file" else tree
    manifest = hash_tree(source)
    progress: list[int] = []
    result = upload_tree(store, source, manifest, progress.append)
    assert result.files_sent == len(manifest.files) and result.files_skipped == 0
    assert result.bytes_sent == manifest.size + len(manifest.to_json().encode())
    assert sum(progress) == manifest.size
    assert cas.load_manifest(store, manifest.digest) == manifest

    model_dir = materialize(store, manifest, tmp_path / "models", tmp_path / "cache")
    assert model_dir == tmp_path / "models" / manifest.digest
    if kind == "file":
        assert tree_of(model_dir) == {"model.pkl": MODEL["model.pkl"]}
    else:
        assert tree_of(model_dir) == {f"model-1/{k}": v for k, v in MODEL.items()}
    assert [p.name for p in (tmp_path / "models").iterdir()] == [manifest.digest]  # no temporary left


def test_an_unchanged_tree_sends_zero_bytes(store: Store, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", MODEL)
    upload_tree(store, root, hash_tree(root))
    progress: list[int] = []
    again = upload_tree(store, root, hash_tree(root), progress.append)
    assert (again.bytes_sent, again.files_sent, again.files_skipped) == (0, 0, 4)
    assert sum(progress) == hash_tree(root).size


def test_only_changed_files_are_sent(store: Store, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", MODEL)
    upload_tree(store, root, hash_tree(root))
    (root / "conf/settings.json").write_bytes(b'{"changed": true}')
    manifest = hash_tree(root)
    result = upload_tree(store, root, manifest)
    assert (result.files_sent, result.files_skipped) == (1, 3)
    assert result.bytes_sent == len(b'{"changed": true}') + len(manifest.to_json().encode())


def test_equal_contents_are_stored_once(store: Store, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", {"a.bin": b"same", "b/c.bin": b"same", "d.bin": b"other"})
    result = upload_tree(store, root, hash_tree(root))
    assert (result.files_sent, result.files_skipped) == (2, 1)


class CountingStore:
    """A Store wrapper that counts downloads."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.downloads = inner, 0

    def __getattr__(self, name: str) -> Callable[..., object]:
        return getattr(self.inner, name)  # type: ignore[no-any-return]

    def get_file(self, key: str, dest: Path, on_progress: Callable[[int], None] | None = None) -> None:
        self.downloads += 1
        self.inner.get_file(key, dest, on_progress)


def test_materialize_is_idempotent_and_shares_blobs(store: Store, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", {**MODEL, "copy.pkl": MODEL["model.pkl"]})
    manifest = hash_tree(root)
    upload_tree(store, root, manifest)
    counting = CountingStore(store)
    first = materialize(counting, manifest, tmp_path / "models", tmp_path / "cache")  # type: ignore[arg-type]
    assert counting.downloads == 4  # five files, four distinct contents
    assert materialize(counting, manifest, tmp_path / "models", tmp_path / "cache") == first  # type: ignore[arg-type]
    other = materialize(counting, manifest, tmp_path / "elsewhere", tmp_path / "cache")  # type: ignore[arg-type]
    assert counting.downloads == 4  # the cache served the second destination
    cached = tmp_path / "cache" / sha(MODEL["model.pkl"])
    for placed in (first / "m/model.pkl", first / "m/copy.pkl", other / "m/model.pkl"):
        assert placed.stat().st_ino == cached.stat().st_ino  # hard links: one copy on disk
    assert not os.access(cached, os.W_OK) or os.geteuid() == 0  # read-only (root may write anyway)
    assert oct(cached.stat().st_mode & 0o777) == oct(0o444)


def test_a_corrupted_blob_is_caught_and_removed(store: Store, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", {"w.bin": b"genuine weights", "ok.txt": b"fine"})
    manifest = hash_tree(root)
    upload_tree(store, root, manifest)
    store.put_bytes(blob_key(sha(b"genuine weights")), b"tampered weights")
    with pytest.raises(ExternalError, match="is corrupt") as caught:
        materialize(store, manifest, tmp_path / "models", tmp_path / "cache")
    assert caught.value.exit_code == 6
    assert sha(b"genuine weights") not in [p.name for p in (tmp_path / "cache").iterdir()]
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "cache").iterdir())
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


def test_an_empty_folder_and_an_empty_file(store: Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    manifest = hash_tree(empty)
    upload_tree(store, empty, manifest)
    assert (materialize(store, manifest, tmp_path / "out", tmp_path / "cache") / "empty").is_dir()
    zero = make_tree(tmp_path / "z", {"zero.bin": b""}) / "zero.bin"
    manifest = hash_tree(zero)
    upload_tree(store, zero, manifest)
    assert (materialize(store, manifest, tmp_path / "out", tmp_path / "cache") / "zero.bin").read_bytes() == b""
