"""Which Python an environment gets: pyenv's versions found (its shims never run), uv downloads allowed or
turned off, and an error that names every way out. Nothing is downloaded: the one real `uv python
install` asks for a version uv has no build of, offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlk.envs import pythons
from mlk.envs.venv import ensure_env, read_marker
from mlk.errors import ExternalError, UsageError

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
FAILING_SHIM = "#!/bin/sh\necho 'pyenv: $0: command not found' >&2\nexit 127\n"


def real_python() -> tuple[str, Path]:
    """(X.Y, interpreter) of a real CPython: one of pyenv's other than this one when the machine has them
    (the case users hit: the conda file asks for a version that is not the selected one), else this one."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for folder in pythons.pyenv_bins(root):
        match = re.match(r"(\d+)\.(\d+)", Path(folder).parent.name)
        if match and match[0] != HERE and (int(match[1]), int(match[2])) >= (3, 9):
            candidate = Path(folder) / f"python{match[0]}"
            if candidate.is_file() and subprocess.run([candidate, "-c", ""], check=False).returncode == 0:
                return match[0], candidate
    return HERE, Path(sys.base_prefix) / "bin" / f"python{HERE}"


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A machine whose only Pythons are in a fake pyenv root, behind shims that fail as pyenv's do for a
    version that is not selected; no uv-managed Pythons, downloads off unless a test turns them on."""
    version, interpreter = real_python()
    root = tmp_path / "pyenv"
    bin_dir = root / "versions" / f"{version}.99" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / f"python{version}").symlink_to(interpreter)
    (root / "versions" / "my-virtualenv" / "bin").mkdir(parents=True)  # pyenv-virtualenv's: not a version
    shims = root / "shims"
    shims.mkdir()
    for name in ("python", "python3", f"python{version}"):
        (shims / name).write_text(FAILING_SHIM)
        (shims / name).chmod(0o755)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setenv("PATH", os.pathsep.join([str(shims), str(empty)]))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv-pythons"))
    monkeypatch.setenv(pythons.DOWNLOADS, "never")
    for name in (pythons.UV_DOWNLOADS, pythons.LOCAL_PYTHON):
        monkeypatch.delenv(name, raising=False)
    return {"version": version, "interpreter": interpreter, "root": root, "bin": bin_dir, "empty": empty}


def no_install(*args: Any) -> tuple[int, list[str]]:
    raise AssertionError("uv python install must not run")


def test_pyenv_versions_are_found_and_its_shims_never_run(machine: dict[str, Any]) -> None:
    found = pythons.interpreter(machine["version"])
    assert found == str(machine["bin"] / f"python{machine['version']}")
    search = pythons.search_path(os.environ).split(os.pathsep)
    assert str(machine["root"] / "shims") not in search
    assert search == [str(machine["bin"]), str(machine["empty"])]  # in the shims' place, before the rest


def test_an_environment_is_built_with_pyenvs_python(machine: dict[str, Any], tmp_path: Path) -> None:
    conda = {"dependencies": [f"python={machine['version']}", "pip"]}
    definition = {"name": "e", "image": "python:3.11-slim", "conda_file": conda}
    env = ensure_env(definition, tmp_path / "envs", extra_requirements=())
    marker = read_marker(env.python.parent.parent)
    assert marker is not None
    assert marker["interpreter"] == str(machine["bin"] / f"python{machine['version']}")
    assert env.python_version is not None
    assert env.python_version.startswith(machine["version"] + ".")
    ran = subprocess.run(
        [env.python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    )
    assert ran.stdout.startswith(env.python_version)


def test_search_path_puts_pyenv_versions_where_its_shims_were(tmp_path: Path) -> None:
    root = tmp_path / "pyenv"
    for name in ("3.9.18", "3.12.1", "3.10.13", "3.13.0t", "pypy3.10-7.3.17", "miniconda3-latest", "venv-x"):
        (root / "versions" / name / "bin").mkdir(parents=True)
    versions = [str(root / "versions" / n / "bin") for n in ("3.13.0t", "3.12.1", "3.10.13", "3.9.18")]
    plugin = root / "plugins" / "pyenv-virtualenv" / "shims"
    path = os.pathsep.join([f"{tmp_path}/a", str(plugin), f"{root}/shims/", str(root / "bin"), "/usr/bin"])
    assert pythons.search_path({"PYENV_ROOT": str(root), "PATH": path}).split(os.pathsep) == [
        f"{tmp_path}/a",
        *versions,
        str(root / "bin"),
        "/usr/bin",
    ]
    # pyenv installed but not initialised in this shell: its versions come last
    assert pythons.search_path({"PYENV_ROOT": str(root), "PATH": "/usr/bin"}).split(os.pathsep) == [
        "/usr/bin",
        *versions,
    ]
    other_shims = f"{tmp_path}/tool/shims"  # not pyenv's: left alone
    elsewhere = f"{tmp_path}/home/.pyenv/shims"  # another pyenv root's: taken out too
    assert pythons.search_path({"PYENV_ROOT": str(root), "PATH": elsewhere}).split(os.pathsep) == versions
    assert other_shims in pythons.search_path({"PYENV_ROOT": str(root), "PATH": other_shims})


def test_downloads_off_names_every_choice(machine: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pythons, "install_python", no_install)
    with pytest.raises(ExternalError) as caught:
        pythons.interpreter("3.99")
    error = caught.value
    assert error.message.startswith("the conda file asks for Python 3.99, which is not on this machine")
    assert f"{machine['version']}.99" in error.message or machine["version"] in error.message  # what is here
    assert "downloads are off (MLK_PYTHON_DOWNLOADS=never)" in error.message
    assert error.hint is not None
    for choice in (
        "pyenv install 3.99",
        "uv python install 3.99",
        "MLK_PYTHON_DOWNLOADS=automatic",
        f"change the conda file's python to one that is here (python={machine['version']})",
        f"MLK_LOCAL_PYTHON={machine['version']}",
    ):
        assert choice in error.hint
    assert error.exit_code == 6


def test_uvs_own_setting_turns_downloads_off_when_mlks_is_not_set(
    machine: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pythons, "install_python", no_install)
    monkeypatch.delenv(pythons.DOWNLOADS)
    monkeypatch.setenv(pythons.UV_DOWNLOADS, "manual")
    with pytest.raises(ExternalError, match=r"downloads are off \(UV_PYTHON_DOWNLOADS=manual\)"):
        pythons.interpreter("3.99")


def test_downloads_allowed_fetch_with_uv_and_use_what_it_installed(
    machine: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str | None]] = []

    def fake_install(request: str, environ: dict[str, str], on_output: Any) -> tuple[int, list[str]]:
        # as uv would: the interpreter appears where uv looks (here a PATH folder, not its managed one)
        calls.append((request, environ.get(pythons.UV_DOWNLOADS)))
        (machine["empty"] / "python3.42").symlink_to(machine["interpreter"])
        return 0, []

    monkeypatch.setattr(pythons, "install_python", fake_install)
    monkeypatch.setattr(pythons, "find_python", _find_as_if_342(machine))
    monkeypatch.setenv(pythons.DOWNLOADS, "automatic")
    monkeypatch.setenv(pythons.UV_DOWNLOADS, "never")  # mlk's explicit setting wins for mlk's builds
    lines: list[str] = []
    found = pythons.interpreter("3.42", on_output=lines.append)
    assert found == str(machine["empty"] / "python3.42")
    assert calls == [("3.42", "automatic")]
    assert any("uv downloads it" in line and "MLK_PYTHON_DOWNLOADS=never" in line for line in lines)


def _find_as_if_342(machine: dict[str, Any]) -> Any:
    """find_python for a made-up version 3.42: the file fake_install made, once it is there."""

    def find(request: str, environ: dict[str, str]) -> Path | None:
        assert request == "3.42" and environ[pythons.UV_DOWNLOADS] == "never"  # looking never downloads
        candidate = machine["empty"] / "python3.42"
        return candidate if candidate.exists() else None

    return find


def test_a_failed_download_shows_uvs_lines(machine: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pythons.DOWNLOADS, "automatic")
    monkeypatch.setenv("UV_OFFLINE", "1")  # uv has no 3.99 build anyway: nothing is fetched
    lines: list[str] = []
    with pytest.raises(ExternalError) as caught:
        pythons.interpreter("3.99", on_output=lines.append)
    error = caught.value
    assert "uv could not download it" in error.message
    assert "No download found" in error.message  # uv's own line
    assert error.hint is not None
    assert "MLK_PYTHON_DOWNLOADS=automatic" not in error.hint  # they are on already
    assert lines[0].startswith("Python 3.99 is not on this machine: uv downloads it")


def test_the_setting_takes_automatic_or_never_only(machine: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pythons.DOWNLOADS, "sometimes")
    with pytest.raises(UsageError, match="MLK_PYTHON_DOWNLOADS=sometimes: use automatic or never"):
        pythons.interpreter("3.99")
    assert pythons.downloads({}) is None
    assert pythons.downloads({pythons.DOWNLOADS: "Never"}) == "MLK_PYTHON_DOWNLOADS=never"
    assert pythons.downloads({pythons.DOWNLOADS: "automatic", pythons.UV_DOWNLOADS: "never"}) is None


def test_a_path_is_never_downloaded(machine: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pythons, "install_python", no_install)
    monkeypatch.setenv(pythons.DOWNLOADS, "automatic")
    with pytest.raises(ExternalError, match="MLK_LOCAL_PYTHON=/nowhere/python3: no such Python"):
        pythons.interpreter("/nowhere/python3", overridden=True)
