"""Running uv: creating a virtual environment, installing into it (which Python: mlk.envs.pythons).

uv comes with mlk (the `uv` wheel carries the binary), so a local environment needs nothing else. Creating
and installing run with UV_PYTHON_DOWNLOADS=never: the interpreter is chosen (and, when allowed, fetched)
beforehand by mlk.envs.pythons, where the user can see it happen, never as a side effect of an install.
The rest of the environment (proxies, SSL_CERT_FILE, UV_INDEX_URL, uv's own config) passes through
untouched, so corporate mirrors keep working.

uv's failures are turned into ExternalError with what it said; "not found in the package registry" is
picked out, because it almost always means a conda-only package name.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mlk.errors import ExternalError

Output = Callable[[str], None]

_NOT_FOUND = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*) was not found in the (?:package registry|provided)")
_NO_VERSION = re.compile(r"there is no version of (?P<spec>\S+?)(?: and|,|$)", re.MULTILINE)
_NETWORK = re.compile(r"Failed to fetch|error sending request|dns error|Connection refused|timed out", re.IGNORECASE)
TAIL_LINES = 15


class EnvBuildError(ExternalError):
    """uv could not build an environment; `missing` lists packages the index does not have."""

    def __init__(
        self, message: str, *, hint: str | None = None, missing: Sequence[str] = (), output: Sequence[str] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.missing = tuple(missing)
        self.output = tuple(output)


def uv_bin() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def uv_environ() -> dict[str, str]:
    """The caller's environment (certificates, proxies, indexes) with interpreter downloads turned off."""
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}


def run_uv(
    args: Sequence[str],
    *,
    on_output: Output | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[int, list[str]]:
    """Run uv, streaming each line of its output (stdout and stderr merged) to `on_output`; `env` replaces
    uv_environ() (mlk.envs.pythons passes its own)."""
    lines: deque[str] = deque(maxlen=2000)
    with subprocess.Popen(
        [uv_bin(), "--color", "never", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=dict(env) if env is not None else uv_environ(),
        cwd=cwd,
    ) as process:
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip("\n")
                lines.append(line)
                if on_output is not None:
                    on_output(line)
        except BaseException:
            process.kill()  # interrupted while uv runs: do not leave it installing on its own
            raise
    return process.returncode, list(lines)


def tail(lines: Sequence[str], count: int = TAIL_LINES) -> list[str]:
    return [line for line in lines if line.strip()][-count:]


def create_venv(python: str, target: Path, *, on_output: Output | None = None) -> None:
    code, lines = run_uv(["venv", "--python", python, str(target)], on_output=on_output, cwd=target.parent)
    if code != 0:
        raise EnvBuildError(
            f"uv could not create a virtual environment at {target} with Python {python}:\n  "
            + "\n  ".join(tail(lines)),
            hint="the lines above are uv's; check that the interpreter runs",
            output=lines,
        )


def pip_install(
    python: Path, requirements: Sequence[str], options: Sequence[str] = (), *, on_output: Output | None = None
) -> None:
    """`uv pip install` into the environment whose interpreter is `python`; EnvBuildError when it fails."""
    code, lines = run_uv(
        ["pip", "install", "--python", str(python), *options, *requirements], on_output=on_output, cwd=python.parent
    )
    if code != 0:
        raise install_error(lines)


def install_error(lines: Sequence[str]) -> EnvBuildError:
    """The error for a failed install, naming what uv could not find and what to do about it."""
    text = "\n".join(lines)
    missing = list(dict.fromkeys(m.group("name") for m in _NOT_FOUND.finditer(text)))
    versions = list(dict.fromkeys(m.group("spec") for m in _NO_VERSION.finditer(text)))
    shown = "\n  " + "\n  ".join(tail(lines))
    if missing:
        listed = ", ".join(missing)
        return EnvBuildError(
            f"{listed}: not found on the package index, so the environment cannot be built:{shown}",
            hint=f"{listed} may be conda-only; put the package's PyPI name in the conda file's `pip:` list "
            "(for example pytorch → torch, py-opencv → opencv-python-headless) or remove it",
            missing=missing,
            output=lines,
        )
    if versions:
        listed = ", ".join(versions)
        return EnvBuildError(
            f"no release matches {listed} on the package index:{shown}",
            hint="loosen the version in the conda file; conda and PyPI do not always publish the same versions",
            output=lines,
        )
    hint = "the lines above are uv's"
    if _NETWORK.search(text):
        hint = "uv could not reach the package index: check the network, HTTPS_PROXY, SSL_CERT_FILE or UV_INDEX_URL"
    return EnvBuildError(f"uv could not install the environment's packages:{shown}", hint=hint, output=lines)
