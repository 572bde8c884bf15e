"""Which Python a local environment is built with: one this machine already has, or one uv downloads.

Where uv looks (`uv python find --system`), in its own order: the Pythons uv manages, then PATH — with
pyenv's shims taken out and pyenv's versions folder ($PYENV_ROOT/versions/*/bin, newest first) put where
they were. A shim runs whichever version pyenv has selected, so python3.12's shim fails while 3.11 is
selected, and uv stops at the first interpreter that fails; the versions folder holds the interpreters the
shims would run.

When none fits, uv downloads one of its managed Pythons, with its progress shown, unless downloads are off:
MLK_PYTHON_DOWNLOADS=never, or (when that is not set) uv's own UV_PYTHON_DOWNLOADS=never|manual; uv's
config file (`python-downloads`) is honoured by uv itself. Where uv downloads from, and through which proxy
and certificates, is uv's configuration (UV_PYTHON_INSTALL_MIRROR, uv.toml): mlk names no host.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mlk.envs import uv
from mlk.errors import ExternalError, UsageError

DOWNLOADS = "MLK_PYTHON_DOWNLOADS"
"""Environment variable: `automatic` (the default) lets uv download a missing Python, `never` does not."""
DOWNLOAD_CHOICES = ("automatic", "never")
UV_DOWNLOADS = "UV_PYTHON_DOWNLOADS"
LOCAL_PYTHON = "MLK_LOCAL_PYTHON"
"""Environment variable: a Python version (or path) to use instead of the one the conda file asks for."""

_VERSION_DIR = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
_PLAIN_VERSION = re.compile(r"^\d+(?:\.\d+){0,2}$")
_PYTHON_LINE = re.compile(r"^(?P<impl>[a-z]+)-(?P<version>\d+\.\d+\.\d+\S*?)-\S+\s+(?P<path>\S+)")


def pyenv_root(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv").expanduser()


def pyenv_bins(root: Path) -> list[str]:
    """The bin folders of pyenv's CPython versions, newest first (its virtualenvs and other builds, whose
    folder names do not start with a version, are left out)."""
    try:
        entries = list((root / "versions").iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        match = _VERSION_DIR.match(entry.name)
        if match and (entry / "bin").is_dir():
            found.append((tuple(int(part or 0) for part in match.groups()), entry.name, str(entry / "bin")))
    return [folder for _, _, folder in sorted(found, reverse=True)]


def _is_pyenv_shims(entry: str, root: Path) -> bool:
    """pyenv's shims folder, a plugin's (pyenv-virtualenv has its own), or another pyenv root's."""
    path = Path(os.path.normpath(entry))
    return path.name == "shims" and (root in path.parents or "pyenv" in path.parent.name)


def search_path(environ: Mapping[str, str]) -> str:
    """PATH as uv should search it for Pythons: pyenv's versions in place of its shims (at the end when
    pyenv's shims are not on PATH), everything else as it was."""
    root = pyenv_root(environ)
    versions = pyenv_bins(root)
    entries: list[str] = []
    placed = False
    for entry in environ.get("PATH", "").split(os.pathsep):
        if not entry:
            continue
        if _is_pyenv_shims(entry, root):
            entries += [] if placed else versions
            placed = True
        else:
            entries.append(entry)
    if not placed:
        entries += versions
    return os.pathsep.join(dict.fromkeys(entries))


def search_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment uv looks for Pythons in: the search PATH, and no downloads while looking."""
    return {**environ, "PATH": search_path(environ), UV_DOWNLOADS: "never"}


def downloads(environ: Mapping[str, str]) -> str | None:
    """None when uv may download a missing Python, else what turned downloads off (for the error)."""
    own = environ.get(DOWNLOADS, "").strip().lower()
    if own:
        if own not in DOWNLOAD_CHOICES:
            raise UsageError(f"{DOWNLOADS}={own}: use {' or '.join(DOWNLOAD_CHOICES)}", hint=f"as uv's {UV_DOWNLOADS}")
        return None if own == "automatic" else f"{DOWNLOADS}={own}"
    theirs = environ.get(UV_DOWNLOADS, "").strip().lower()
    return f"{UV_DOWNLOADS}={theirs}" if theirs in ("never", "manual") else None


def find_python(request: str, environ: Mapping[str, str]) -> Path | None:
    """The interpreter uv would use for `request` ("3.11", ">=3.9", a path), or None when there is none.
    `--system`: a virtual environment (mlk's own, or a .venv in the working folder) is never the base."""
    done = subprocess.run(
        [uv.uv_bin(), "--color", "never", "python", "find", "--system", request],
        capture_output=True,
        text=True,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    found = done.stdout.strip().splitlines()
    return Path(found[-1]) if done.returncode == 0 and found else None


def local_pythons(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The CPythons on this machine as (version, path), one per version, for error messages."""
    done = subprocess.run(
        [uv.uv_bin(), "--color", "never", "python", "list", "--only-installed"],
        capture_output=True,
        text=True,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    seen: dict[str, str] = {}
    for line in done.stdout.splitlines():
        match = _PYTHON_LINE.match(line.strip())
        if match and match.group("impl") == "cpython":
            seen.setdefault(match.group("version"), match.group("path"))
    return list(seen.items())


def install_python(request: str, environ: Mapping[str, str], on_output: uv.Output | None) -> tuple[int, list[str]]:
    """`uv python install`. With `on_output` its lines go there; without, uv writes to this process's
    stderr (its stdout too, which is mlk's result), where it draws its own progress bar on a terminal."""
    if on_output is not None:
        return uv.run_uv(["python", "install", request], on_output=on_output, env=environ)
    done = subprocess.run(
        [uv.uv_bin(), "python", "install", request], stdin=subprocess.DEVNULL, stdout=2, env=dict(environ), check=False
    )
    return done.returncode, []


def interpreter(request: str, *, overridden: bool = False, on_output: uv.Output | None = None) -> str:
    """The interpreter to create an environment with for `request` (the conda file's python, or
    MLK_LOCAL_PYTHON's when `overridden`): found, else downloaded when allowed; ExternalError naming the
    choices when neither works."""
    environ = dict(os.environ)
    search = search_environ(environ)
    found = find_python(request, search)
    if found is not None:
        return str(found)
    off = downloads(environ) if "/" not in request else "a path is never downloaded"
    failure: list[str] | None = None
    if off is None:
        _say(on_output, f"Python {request} is not on this machine: uv downloads it ({DOWNLOADS}=never stops this)")
        install = dict(environ)
        if environ.get(DOWNLOADS, "").strip().lower() == "automatic":
            install[UV_DOWNLOADS] = "automatic"  # mlk's own setting was asked for explicitly: it wins over uv's
        code, failure = install_python(request, install, on_output)
        found = find_python(request, search) if code == 0 else None
        if found is not None:
            return str(found)
    raise missing_python(request, local_pythons(search), overridden=overridden, off=off, failure=failure)


def missing_python(
    request: str,
    here: list[tuple[str, str]],
    *,
    overridden: bool,
    off: str | None,
    failure: list[str] | None,
) -> ExternalError:
    """The error for a Python that is neither here nor downloadable: what was found, why nothing was
    downloaded, and every way out."""
    listed = ", ".join(f"{version} ({path})" for version, path in here) or "none that uv can find"
    suggestion = ".".join(here[0][0].split(".")[:2]) if here else "X.Y"
    if off is not None:
        why = f"downloads are off ({off})"
    elif failure:
        why = "uv could not download it:\n  " + "\n  ".join(uv.tail(failure))
    else:
        why = "uv could not download it (its lines are above)"
    if "/" in request:
        return ExternalError(
            f"{LOCAL_PYTHON}={request}: no such Python on this machine (found: {listed})",
            hint=f"set {LOCAL_PYTHON} to an interpreter that runs, or unset it to use the conda file's python",
        )
    quoted = request if _PLAIN_VERSION.match(request) else f"'{request}'"
    install = f"`uv python install {quoted}`"
    if _PLAIN_VERSION.match(request):
        install = f"`pyenv install {request}` or {install}"
    choices = [f"install it ({install})"]
    if off is not None:
        choices.append(f"allow downloads ({DOWNLOADS}=automatic)")
    elif not any("No download found" in line for line in failure or ()):  # else uv has no such build at all
        choices.append("check the network and uv's Python download settings (UV_PYTHON_INSTALL_MIRROR, uv.toml)")
    if overridden:
        subject = f"{LOCAL_PYTHON}={request}: no such Python on this machine"
        choices.append(f"set {LOCAL_PYTHON} to one that is here, or unset it to use the conda file's python")
    else:
        subject = f"the conda file asks for Python {request}, which is not on this machine"
        choices.append(f"change the conda file's python to one that is here (python={suggestion})")
        choices.append(f"set {LOCAL_PYTHON}={suggestion} to build with another at your own risk")
    return ExternalError(f"{subject} (found: {listed}); {why}", hint="; ".join(choices))


def _say(on_output: uv.Output | None, line: str) -> None:
    if on_output is not None:
        on_output(line)
    else:  # nobody collects lines: say it where uv's own progress is about to appear
        print(line, file=sys.stderr, flush=True)
