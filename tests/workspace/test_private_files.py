"""$MLK_HOME is its user's alone: folders 0700, files 0600, whatever the umask; an older, looser home is
closed when mlk opens it; another local user cannot read a deployment's environment variables."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlk.workspace import computes, keys, state
from mlk.workspace.files import (
    locked,
    open_private,
    private_dir,
    replacing,
    tighten,
    write_json,
    write_private,
)
from mlk.workspace.home import open_workspace
from tests.conftest import run_mlk

SECRET = "s3cret-value-of-an-environment-variable"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _loose(root: Path) -> list[str]:
    """Every folder or file under `root` (itself included) that group or others can reach."""
    found = [] if _mode(root) & 0o077 == 0 else [f"{root} {oct(_mode(root))}"]
    for path in sorted(root.rglob("*")):
        if not path.is_symlink() and _mode(path) & 0o077:
            found.append(f"{path.relative_to(root)} {oct(_mode(path))}")
    return found


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The worst umask: without explicit modes everything would be world-readable (and writable)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mlk-home"
    monkeypatch.setenv("MLK_HOME", str(folder))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    return folder


def _deployment_with_a_secret(ws_name: str | None = None) -> Path:
    ws = open_workspace(ws_name)
    with state.mutate(ws) as desired:
        desired["endpoints"]["ep"] = {
            "spec": {"name": "ep", "auth_mode": "key"},
            "deployments": {"blue": {"spec": {"name": "blue", "environment_variables": {"TOKEN": SECRET}}}},
        }
    keys.ensure_keys(ws, "ep")
    return ws.state_file


def test_the_helpers_ignore_the_umask(tmp_path: Path, open_umask: None) -> None:
    deep = private_dir(tmp_path / "a" / "b" / "c")
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a/b", deep)] == [0o700] * 3
    write_private(deep / "text", "x")
    write_json(deep / "data.json", {"k": 1})
    with replacing(deep / "new" / "stream") as out:
        out.write(b"bytes")
    with open_private(deep / "log") as log:
        log.write(b"one\n")
    with locked(deep / "lock"):
        pass
    (deep / "old.log").write_text("made by an older mlk\n")
    os.chmod(deep / "old.log", 0o666)
    with open_private(deep / "old.log") as log:
        log.write(b"two\n")
    assert (deep / "old.log").read_text() == "made by an older mlk\ntwo\n"
    assert _loose(tmp_path / "a") == []
    assert sorted(p.name for p in deep.iterdir()) == ["data.json", "lock", "log", "new", "old.log", "text"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    write_private(tmp_path / "f", "old")
    with pytest.raises(RuntimeError), replacing(tmp_path / "f") as out:
        out.write(b"half")
        raise RuntimeError("killed")
    assert (tmp_path / "f").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f"]


def test_tighten_closes_loose_folders_but_never_a_shared_one(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)
    tighten(loose)
    assert _mode(loose) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: MLK_HOME=/tmp must not lock everyone else out
    tighten(shared)
    assert _mode(shared) == 0o1777
    tighten(tmp_path / "absent")  # nothing to do


def test_everything_mlk_writes_under_the_home_is_private(
    home: Path, tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 64)
    os.utime(model / "weights.bin", (1_700_000_000, 1_700_000_000))  # old enough for the hash cache
    for args in (
        ("workspace", "create", "team", "--use"),
        ("workspace", "update", "--registry", "registry.example:5000", "--registry-username", "u"),
        ("workspace", "update", "--registry-password", "p"),
        ("model", "create", "-n", "weights", "-p", str(model)),
        ("environment", "create", "-n", "env", "--image", "python:3.11"),
    ):
        result = run_mlk(*args)
        assert result.exit_code == 0, f"mlk {' '.join(args)}: {result.stderr}"
    _deployment_with_a_secret()
    ws = open_workspace()
    computes.attach(ws, {"name": "k8s", "kubeconfig": "~/.kube/config", "namespace": "ml"})
    files = {p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()}
    assert {
        "config.json",
        "workspaces/team/workspace.json",
        "workspaces/team/state.json",
        "workspaces/team/assets.json",
        "workspaces/team/keys/ep.json",
        "workspaces/team/cache/hashes.json",
    } <= files
    assert any(f.startswith("workspaces/team/storage/blobs/") for f in files)
    assert _loose(home) == []


def test_an_older_looser_home_is_closed_when_opened(home: Path) -> None:
    state_file = _deployment_with_a_secret()
    for path in (home, *home.rglob("*")):  # as an mlk that used the umask's modes left it
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    open_workspace()
    assert _mode(home) == 0o700
    assert _mode(state_file) == 0o644  # unreachable anyway: the home above it is closed
    _deployment_with_a_secret()  # rewritten: 0600 again
    assert _mode(state_file) == 0o600


@pytest.fixture
def public_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An MLK_HOME in a folder every user can walk into (tmp_path's parents are root's own: 0700)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to read files as another user")
    base = Path(tempfile.mkdtemp(prefix="mlk-private-", dir="/tmp"))
    os.chmod(base, 0o755)
    monkeypatch.setenv("MLK_HOME", str(base / "home"))
    monkeypatch.delenv("MLK_WORKSPACE", raising=False)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def _as_nobody(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_another_user_cannot_read_the_state(public_home: Path) -> None:
    readable = public_home / "readable.txt"
    readable.write_text("anyone")
    os.chmod(readable, 0o644)
    assert _as_nobody("cat", str(readable)).stdout == "anyone"  # the check itself works
    state_file = _deployment_with_a_secret()
    assert SECRET in state_file.read_text()
    for path in (state_file, state_file.parent / "keys" / "ep.json", state_file.parent / "workspace.json"):
        denied = _as_nobody("cat", str(path))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr and denied.stdout == ""
    # an older home with world-readable files is closed as soon as mlk opens it
    for path in (public_home / "home", *(public_home / "home").rglob("*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert SECRET in _as_nobody("cat", str(state_file)).stdout  # what the issue reported
    open_workspace()
    assert SECRET not in _as_nobody("cat", str(state_file)).stdout
