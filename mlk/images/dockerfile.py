"""The Dockerfile and build context of an environment's image (pure: text and file lists, no Docker).

Four shapes, by what the environment holds:

    image + conda_file, fast    uv creates /opt/mlk/env with the base image's Python and installs the
                                conda file's pip-translatable part (mlk.envs.conda): seconds, no conda
    image + conda_file, pip     the same with `python -m venv` and pip: what a conda file's pip section
                                costs without uv (the benchmark's baseline)
    image + conda_file, conda   `conda env create -p /opt/mlk/env` on a base image that has conda, as
                                Azure ML's builder does, for conda files pip cannot express
    image only / build context  the image as it is (or as the user's Dockerfile made it), plus mlk's runtime

Every shape ends the same way: mlk's server runtime (httptools and uvloop installed into the environment's
Python, then the `mlk` package at /opt/mlk/runtime) and the command the pod runs. The runtime comes after
the packages, so upgrading mlk rebuilds only those two steps. Model and code are never in the image: the
storage-initializer brings them, as on Azure, so a new score.py or model never builds an image. Extra CA
certificates (corporate TLS interception) are in place before anything is downloaded.

Steps are few on purpose: with the legacy builder every instruction is a container, and on a copy-on-write
storage driver such as vfs each one costs seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Builder = Literal["fast", "pip", "conda", "image", "context"]
ENV = "/opt/mlk/env"
RUNTIME = "/opt/mlk/runtime"
BUILD = "/opt/mlk/build"
CA_BUNDLE = "/opt/mlk/ca-certificates.crt"
SERVER_PORT = 5001
RUNTIME_REQUIREMENTS = ("httptools>=0.6", "uvloop>=0.19")
# Context layout (relative paths inside the build context).
CTX_BUILD = "mlk-build"
CTX_RUNTIME = "mlk-runtime"
UV, CA, REQUIREMENTS, CONDA = "uv", "extra-ca.crt", "requirements.txt", "conda.yml"
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class BuildContext:
    """What `docker build` gets: the Dockerfile's text, the files (context path → local path or bytes),
    the build arguments, and which builder made it."""

    builder: Builder
    dockerfile: str
    files: Mapping[str, Path | bytes] = field(default_factory=dict)
    buildargs: Mapping[str, str] = field(default_factory=dict)


def _env_line(python: str, ca: bool, venv: bool) -> str:
    values = {
        "UV_PYTHON_DOWNLOADS": "never",  # the image's Python only: air-gapped builds must not fetch one
        "UV_LINK_MODE": "copy",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": RUNTIME,
        "MLK_PYTHON": python,
    }
    if venv:
        values |= {"VIRTUAL_ENV": ENV, "PATH": f"{ENV}/bin:$PATH"}
    if ca:
        values |= dict.fromkeys(("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CONDA_SSL_VERIFY"), CA_BUNDLE)
    return "ENV " + " ".join(f"{k}={v}" for k, v in values.items())


def _ca_command(ca: bool) -> list[str]:
    """The image's own CA bundle plus the extra certificates, before anything is downloaded."""
    if not ca:
        return []
    return [
        f"if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cat /etc/ssl/certs/ca-certificates.crt {BUILD}/{CA} "
        f"> {CA_BUNDLE}; else cp {BUILD}/{CA} {CA_BUNDLE}; fi"
    ]


def _runtime_steps(python: str, system: bool) -> list[str]:
    """mlk's server in the environment's Python. `system`: the image's own Python, not a virtual
    environment (Debian marks it externally managed, so uv needs to be told)."""
    check = (
        f'{python} -c "import sys; v = sys.version_info; sys.exit(0 if v >= {MIN_PYTHON} else '
        f"'mlk serves score.py with Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this image has %d.%d' % v[:2])\""
    )
    flags = " --system --break-system-packages" if system else ""
    requirements = " ".join(f"'{r}'" for r in RUNTIME_REQUIREMENTS)
    return [
        f"RUN {check} && uv pip install --no-cache --python {python}{flags} {requirements}",
        f"COPY {CTX_RUNTIME} {RUNTIME}/mlk",
        f'CMD ["{python}", "-m", "mlk.server", "--port", "{SERVER_PORT}"]',
    ]


def _run(commands: Sequence[str]) -> str:
    return "RUN set -e; " + "; ".join(commands)


def _files(uv: Path, runtime: Path, ca: bytes | None, **more: bytes) -> dict[str, Path | bytes]:
    files: dict[str, Path | bytes] = {f"{CTX_BUILD}/{UV}": uv, CTX_RUNTIME: runtime}
    if ca is not None:
        files[f"{CTX_BUILD}/{CA}"] = ca
    files.update({f"{CTX_BUILD}/{name}": data for name, data in more.items()})
    return files


def _head(python: str, ca: bool, venv: bool) -> list[str]:
    return [
        "# Made by mlk (mlk.images.dockerfile): an environment's image. Model and code are not in it.",
        "ARG BASE_IMAGE",
        "FROM ${BASE_IMAGE}",
        _env_line(python, ca, venv),
        f"COPY {CTX_BUILD} {BUILD}",
    ]


def fast(
    base: str,
    requirements: Sequence[str],
    options: Sequence[str],
    python: str | None,
    *,
    runtime: Path,
    uv: Path,
    ca: bytes | None = None,
    installer: Literal["uv", "pip"] = "uv",
) -> BuildContext:
    """A virtual environment with the base image's Python (`python`: the conda file's X.Y, if it pins one)
    and the conda file's pip plan, installed by uv (or by pip, for comparison)."""
    py = f"{ENV}/bin/python"
    extra = "".join(f" '{o}'" for o in options)
    install = f"cp {BUILD}/{UV} /usr/local/bin/uv"
    if installer == "uv":
        create = f"uv venv --python {python or 'python3'} {ENV}"
        add = f"uv pip install --no-cache --python {py}{extra} -r {BUILD}/{REQUIREMENTS}"
    else:
        create = f"python{python or '3'} -m venv {ENV}"
        add = f"{py} -m pip install --no-cache-dir{extra} -r {BUILD}/{REQUIREMENTS}"
    steps = [*_ca_command(ca is not None), install, create]
    if requirements:
        steps.append(add)
    lines = [*_head(py, ca is not None, venv=True), _run(steps), *_runtime_steps(py, system=False)]
    text = "\n".join(requirements) + "\n"
    files = _files(uv, runtime, ca, **{REQUIREMENTS: text.encode()})
    return BuildContext("fast" if installer == "uv" else "pip", "\n".join(lines) + "\n", files, {"BASE_IMAGE": base})


def conda(base: str, conda_yaml: bytes, *, runtime: Path, uv: Path, ca: bytes | None = None) -> BuildContext:
    """`conda env create` as Azure ML's builder runs it, on a base image that has conda."""
    py = f"{ENV}/bin/python"
    steps = [
        *_ca_command(ca is not None),
        f"cp {BUILD}/{UV} /usr/local/bin/uv",
        f"conda env create -p {ENV} -f {BUILD}/{CONDA}",
        "conda clean -afy",
    ]
    lines = [*_head(py, ca is not None, venv=True), _run(steps), *_runtime_steps(py, system=False)]
    files = _files(uv, runtime, ca, **{CONDA: conda_yaml})
    return BuildContext("conda", "\n".join(lines) + "\n", files, {"BASE_IMAGE": base})


def runtime_only(
    base: str, *, runtime: Path, uv: Path, ca: bytes | None = None, builder: Builder = "image"
) -> BuildContext:
    """An image as it is (or the image a user's build context made), with mlk's runtime added to the
    Python it already has: python3 on its PATH (a conda image's own, when conda put it first)."""
    py = "/usr/local/bin/mlk-python"
    steps = [
        *_ca_command(ca is not None),
        f"cp {BUILD}/{UV} /usr/local/bin/uv",
        f'ln -sf "$(command -v python3 || command -v python)" {py}',
    ]
    lines = [*_head(py, ca is not None, venv=False), _run(steps), *_runtime_steps(py, system=True)]
    return BuildContext(builder, "\n".join(lines) + "\n", _files(uv, runtime, ca), {"BASE_IMAGE": base})
