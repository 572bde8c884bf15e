"""Real virtual environments built with uv: build, reuse, crash recovery, locking, and the errors users see."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from mlk.envs import uv
from mlk.envs.pythons import DOWNLOADS
from mlk.envs.venv import LOCAL_PYTHON, MARKER, NO_CONDA, LocalEnv, ensure_env, env_dir, read_marker
from mlk.errors import ExternalError

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
NO_SUCH_PACKAGE = "mlk-no-such-package-xyz"


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOCAL_PYTHON, raising=False)
    monkeypatch.setenv(DOWNLOADS, "never")  # a missing Python is an error here, never a download


def spec(*dependencies: Any, python: str = f"={HERE}") -> dict[str, Any]:
    conda = {"name": "t", "channels": ["conda-forge"], "dependencies": [f"python{python}", "pip", *dependencies]}
    return {"name": "test-env", "version": "1", "image": "python:3.11-slim", "conda_file": conda}


def imports(env: LocalEnv, module: str) -> bool:
    return subprocess.run([str(env.python), "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def test_builds_once_then_reuses(tmp_path: Path) -> None:
    lines: list[str] = []
    first = ensure_env(spec({"pip": ["six"]}), tmp_path, extra_requirements=(), on_output=lines.append)
    assert not first.reused
    assert first.python == env_dir(tmp_path, first.identity) / "bin" / "python"
    assert imports(first, "six")
    assert any("six" in line for line in lines)  # uv's output was streamed
    marker = read_marker(first.python.parent.parent)
    assert marker is not None
    assert marker["identity"] == first.identity
    assert marker["python"].startswith(HERE + ".")
    assert marker["plan"]["requirements"] == ["six"]
    assert first.python_version == marker["python"]

    renamed = {**spec({"pip": ["six"]}), "name": "other-name", "version": "9"}
    second = ensure_env(renamed, tmp_path, extra_requirements=())
    assert second.reused
    assert second.python == first.python
    assert second.seconds < 0.5


def test_interrupted_build_is_rebuilt_from_scratch(tmp_path: Path) -> None:
    first = ensure_env(spec({"pip": ["six"]}), tmp_path, extra_requirements=())
    home = env_dir(tmp_path, first.identity)
    (home / MARKER).unlink()  # as if the process died before the end of the build
    (home / "half-written").write_text("")
    lines: list[str] = []
    again = ensure_env(spec({"pip": ["six"]}), tmp_path, extra_requirements=(), on_output=lines.append)
    assert not again.reused
    assert not (home / "half-written").exists()
    assert (home / MARKER).is_file()
    assert imports(again, "six")
    assert any("did not finish" in line for line in lines)


def test_missing_extras_are_added_to_an_existing_environment(tmp_path: Path) -> None:
    ensure_env(spec(), tmp_path, extra_requirements=())
    env = ensure_env(spec(), tmp_path, extra_requirements=("six",))
    assert env.reused
    assert imports(env, "six")
    marker = read_marker(env.python.parent.parent)
    assert marker is not None
    assert marker["extra_requirements"] == ["six"]


def test_concurrent_builders_are_serialised(tmp_path: Path) -> None:
    results: list[LocalEnv] = []
    start = threading.Barrier(2)

    def build() -> None:
        start.wait()
        results.append(ensure_env(spec({"pip": ["six"]}), tmp_path, extra_requirements=()))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r.reused for r in results) == [False, True]
    assert results[0].python == results[1].python
    assert imports(results[0], "six")


def test_missing_python_version_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExternalError) as caught:
        ensure_env(spec(python="=3.99"), tmp_path, extra_requirements=())
    error = caught.value
    assert "asks for Python 3.99" in error.message
    assert HERE in error.message  # the Pythons that do exist are listed
    assert error.hint is not None
    assert f"{LOCAL_PYTHON}=" in error.hint
    assert "pyenv install 3.99" in error.hint and f"{DOWNLOADS}=automatic" in error.hint
    assert error.exit_code == 6
    assert not any(path.is_dir() for path in tmp_path.iterdir())


def test_python_range_takes_any_python_inside_it(tmp_path: Path) -> None:
    env = ensure_env(spec(python=f">={HERE}"), tmp_path, extra_requirements=())
    assert env.plan.python is None
    assert env.plan.python_range == f">={HERE}"
    assert env.python_version is not None
    assert tuple(int(p) for p in env.python_version.split(".")[:2]) >= sys.version_info[:2]


def test_local_python_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCAL_PYTHON, HERE)
    lines: list[str] = []
    env = ensure_env(spec(python="=3.99"), tmp_path, extra_requirements=(), on_output=lines.append)
    assert not env.reused
    assert env.plan.python == "3.99"
    assert any(LOCAL_PYTHON in line for line in lines)
    monkeypatch.setenv(LOCAL_PYTHON, "3.98")
    with pytest.raises(ExternalError, match=f"{LOCAL_PYTHON}=3.98: no such Python"):
        ensure_env(spec(python="=3.99"), tmp_path, extra_requirements=())


def test_a_different_python_request_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_env(spec(), tmp_path, extra_requirements=())
    monkeypatch.setenv(LOCAL_PYTHON, sys.executable)
    lines: list[str] = []
    second = ensure_env(spec(), tmp_path, extra_requirements=(), on_output=lines.append)
    assert not second.reused
    assert any(f"and {sys.executable} is asked for now" in line for line in lines)
    assert second.identity == first.identity
    marker = read_marker(second.python.parent.parent)
    assert marker is not None
    assert marker["python_request"] == sys.executable


def test_unknown_package_is_named(tmp_path: Path) -> None:
    with pytest.raises(uv.EnvBuildError) as caught:
        ensure_env(spec({"pip": ["six", NO_SUCH_PACKAGE]}), tmp_path, extra_requirements=())
    error = caught.value
    assert error.missing == (NO_SUCH_PACKAGE,)
    assert error.message.startswith(f"{NO_SUCH_PACKAGE}: not found on the package index")
    assert "was not found in the package registry" in error.message  # uv's own last lines
    assert error.hint is not None
    assert "conda-only" in error.hint
    assert isinstance(error, ExternalError)
    assert not any(path.is_dir() for path in tmp_path.iterdir())  # nothing half-built is left


def test_conda_only_name_is_named_too(tmp_path: Path) -> None:
    with pytest.raises(uv.EnvBuildError) as caught:
        ensure_env(spec(f"{NO_SUCH_PACKAGE}=1.0"), tmp_path, extra_requirements=())
    assert caught.value.missing == (NO_SUCH_PACKAGE,)


def test_environment_without_conda_file_is_not_built(tmp_path: Path) -> None:
    env = ensure_env({"name": "image-only", "image": "python:3.11-slim"}, tmp_path)
    assert env.python == Path(sys.executable)
    assert env.reused
    assert env.plan.notes == (NO_CONDA,)
    assert env.python_version == ".".join(map(str, sys.version_info[:3]))
    assert list(tmp_path.iterdir()) == []


def test_inline_and_file_conda_share_the_environment(tmp_path: Path) -> None:
    conda_file = tmp_path / "conda.yaml"
    conda_file.write_text(json.dumps(spec()["conda_file"]))  # JSON is YAML
    cache = tmp_path / "cache"
    first = ensure_env(spec(), cache, extra_requirements=())
    second = ensure_env({**spec(), "conda_file": str(conda_file)}, cache, extra_requirements=())
    assert second.reused
    assert second.python == first.python


@pytest.mark.parametrize(
    ("lines", "message", "hint"),
    [
        (
            [
                "error: No solution found when resolving dependencies",
                "  cause: Because foo-bar was not found in the package registry and you require foo-bar, we can "
                "conclude that your requirements are unsatisfiable.",
            ],
            "foo-bar: not found on the package index",
            "conda-only",
        ),
        (
            [
                "  ╰─▶ Because there is no version of numpy==9.9 and you require numpy==9.9, we can conclude that "
                "your requirements are unsatisfiable."
            ],
            "no release matches numpy==9.9",
            "loosen the version",
        ),
        (
            ["error: Failed to fetch: `https://index.example/simple/six/`", "  Caused by: dns error"],
            "uv could not install",
            "could not reach the package index",
        ),
        (["error: something new"], "uv could not install", "uv's"),
    ],
)
def test_install_errors_from_uv_output(lines: list[str], message: str, hint: str) -> None:
    error = uv.install_error(lines)
    assert error.message.startswith(message)
    assert lines[-1].strip() in error.message
    assert error.hint is not None
    assert hint in error.hint
