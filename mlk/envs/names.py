"""Which conda packages pip can install, and under which PyPI name. Pure data, read by mlk.envs.conda.

A conda file describes a whole userland: the interpreter, C/C++ runtimes, BLAS, CUDA, OpenSSL, then the
Python packages. A virtual environment only needs the last part; wheels on PyPI bundle the native libraries
they link against (numpy carries OpenBLAS, torch pulls CUDA in as `nvidia-*` wheels). So mlk keeps the
Python packages, renames the few whose conda name differs from PyPI's, and skips the rest with a reason the
build can show.

Renamed (conda → PyPI):

    pytorch, pytorch-cpu, pytorch-gpu   → torch
    py-xgboost, py-xgboost-cpu/-gpu     → xgboost
    tensorflow-gpu                      → tensorflow      (the PyPI tensorflow-gpu is an empty shell)
    py-opencv, opencv                   → opencv-python-headless   (a server has no display)
    matplotlib-base                     → matplotlib
    numpy-base                          → numpy
    msgpack-python                      → msgpack
    pytables                            → tables
    python-graphviz                     → graphviz
    ruamel_yaml                         → ruamel.yaml
    pyqt                                → PyQt5

Kept as they are (same name on both sides), among many: pillow, pyyaml, scikit-learn, lightgbm, pandas,
numpy, scipy, xgboost, torchvision. A name that is in neither table is kept too: it may well exist on
PyPI, and when it does not the build names it (see mlk.envs.uv).
"""

from __future__ import annotations

PYPI_NAMES: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "tensorflow-gpu": "tensorflow",
    "py-opencv": "opencv-python-headless",
    "opencv": "opencv-python-headless",
    "matplotlib-base": "matplotlib",
    "numpy-base": "numpy",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "python-graphviz": "graphviz",
    "ruamel_yaml": "ruamel.yaml",
    "pyqt": "PyQt5",
}
"""Conda name (lower case) → PyPI name, where they differ."""

_TOOLING = "installer tooling; the virtual environment brings its own"
_INTERPRETER = "the interpreter; it chooses the environment's Python version instead"
_SYSTEM = "a system library; Python wheels bundle what they link against"
_COMPILER = "a compiler or its runtime; wheels are prebuilt and bundle their own"
_CUDA = "CUDA runtime; GPU wheels on PyPI (torch, tensorflow, cupy) pull in nvidia-* packages themselves"
_BLAS = "a BLAS/LAPACK backend; numpy and scipy wheels bundle OpenBLAS"
_CONDA = "conda's own bookkeeping package"

SKIPPED: dict[str, str] = {
    "pip": _TOOLING,
    "setuptools": _TOOLING,
    "wheel": _TOOLING,
    "conda": _TOOLING,
    "python": _INTERPRETER,
    "ca-certificates": _SYSTEM,
    "openssl": _SYSTEM,
    "tk": _SYSTEM,
    "xz": _SYSTEM,
    "zlib": _SYSTEM,
    "libzlib": _SYSTEM,
    "sqlite": _SYSTEM,
    "libsqlite": _SYSTEM,
    "ncurses": _SYSTEM,
    "readline": _SYSTEM,
    "libffi": _SYSTEM,
    "bzip2": _SYSTEM,
    "tzdata": _SYSTEM,
    "libuuid": _SYSTEM,
    "libnsl": _SYSTEM,
    "libxcrypt": _SYSTEM,
    "libexpat": _SYSTEM,
    "ld_impl_linux-64": _SYSTEM,
    "_libgcc_mutex": _COMPILER,
    "_openmp_mutex": _COMPILER,
    "libgomp": _COMPILER,
    "intel-openmp": _COMPILER,
    "llvm-openmp": _COMPILER,
    "gcc": _COMPILER,
    "gxx": _COMPILER,
    "gcc_linux-64": _COMPILER,
    "gxx_linux-64": _COMPILER,
    "gfortran_linux-64": _COMPILER,
    "cudatoolkit": _CUDA,
    "cudnn": _CUDA,
    "nccl": _CUDA,
    "cuda": _CUDA,
    "pytorch-cuda": _CUDA,
    "pytorch-mutex": _CUDA,
    "cpuonly": _CUDA,
    "magma": _CUDA,
    "blas": _BLAS,
    "openblas": _BLAS,
    "libopenblas": _BLAS,
    "libblas": _BLAS,
    "libcblas": _BLAS,
    "liblapack": _BLAS,
    "liblapacke": _BLAS,
}
"""Conda name (lower case) → why pip does not need it."""

SKIPPED_PREFIXES: tuple[tuple[str, str], ...] = (
    ("libgcc", _COMPILER),
    ("libstdcxx", _COMPILER),
    ("libgfortran", _COMPILER),
    ("mkl", _BLAS),
    ("cuda-", _CUDA),
    ("libcublas", _CUDA),
    ("libcufft", _CUDA),
    ("libcurand", _CUDA),
    ("libcusolver", _CUDA),
    ("libcusparse", _CUDA),
    ("libnpp", _CUDA),
    ("libnvjpeg", _CUDA),
    ("libnvjitlink", _CUDA),
    ("__", "a conda virtual package (it describes the machine, nothing is installed)"),
)
"""Name prefixes skipped for the same reasons (libgcc-ng, libstdcxx-ng, mkl-service, cuda-nvcc, …)."""

SKIPPED_CHANNELS: dict[str, str] = {
    "nvidia": _CUDA,
}
"""Packages named `channel::name` from these channels are skipped whatever their name."""

SERVED_BY_MLK: dict[str, str] = {
    "azureml-defaults": "mlk serves score.py itself and provides azureml.contrib.services",
    "azureml-inference-server-http": "mlk serves score.py itself and provides azureml.contrib.services",
}
"""pip packages (PEP 503 names) that mlk replaces: Azure's inference server and its meta-package."""


def skip_reason(name: str, channel: str | None = None) -> str | None:
    """Why a conda package is left out of the pip plan, or None when pip should install it."""
    if channel is not None and channel.lower() in SKIPPED_CHANNELS:
        return SKIPPED_CHANNELS[channel.lower()]
    lowered = name.lower()
    if lowered in SKIPPED:
        return SKIPPED[lowered]
    for prefix, reason in SKIPPED_PREFIXES:
        if lowered.startswith(prefix):
            return reason
    return None


def pypi_name(name: str) -> str:
    """The PyPI name of a conda package (itself when the two agree)."""
    return PYPI_NAMES.get(name.lower(), name)
