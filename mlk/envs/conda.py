"""A conda environment file → what uv must install into a virtual environment (a `PipPlan`). Pure.

The embedded default has no conda: it builds a virtual environment from the same file Azure ML would feed to
conda. So each conda dependency becomes a pip requirement, keeping its version constraint but in PEP 440
spelling, under its PyPI name (mlk.envs.names), or is skipped with a reason when pip has no use for it
(the interpreter, C runtimes, CUDA, BLAS). The `pip:` list is taken as written, except Azure's inference
server, which mlk replaces.

Version spellings (conda → pip):

    name=1.2          → name==1.2.*    conda's `=` is a prefix match: numpy=1.11 accepts 1.11.3. pip's
    name=1.2.3        → name==1.2.3      `==1.2` would pin 1.2.0, often without wheels for today's Python,
    name=1.2.*, 1.2*  → name==1.2.*      so a one- or two-part version keeps conda's meaning
    name==1.2         → name==1.2      exact, as in conda
    name 1.2 / name 1.2 build        → name==1.2   (MatchSpec's space form: a bare version is exact)
    name>=1.2,<2, name >=1.2         → name>=1.2,<2
    name=1.2=build_str, name[version='>=1.2'], channel::name → build string, brackets and channel dropped

`python=3.11`, `python=3.11.4`, `python 3.11.*` ask for Python "3.11" (`python`). A range (`python>=3.9`)
is kept whole in `python_range` instead, with `python` None: any local Python inside it will do, and turning
">=3.9" into "3.9" would demand an old interpreter that the file does not ask for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlk.envs import names

_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(?P<rest>.*)$")
_BRACKET_VERSION = re.compile(r"""version\s*=\s*['"]?(?P<version>[^'",\]]+)""")
_REQUIREMENT_NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*)")
_SHORT_RELEASE = re.compile(r"^\d+(\.\d+)?$")
_SPACED_OPERATOR = re.compile(r"\s*([<>=!~,|]+)\s*")
_OPERATORS = (">=", "<=", "!=", "~=", ">", "<")
# pip options in a `pip:` list that uv pip install understands, and how to spell them for uv.
_PIP_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
}


@dataclass(frozen=True)
class PipPlan:
    """What to install into the virtual environment, and what was left out of the conda file and why."""

    python: str | None
    """The Python version the file pins, as major.minor ("3.11"); None for a range or no constraint."""
    requirements: tuple[str, ...]
    """PEP 508 requirements for `uv pip install`, conda-derived first, then the `pip:` list."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(dependency as written, reason) for each dependency not installed."""
    notes: tuple[str, ...] = ()
    """Other things worth telling the user (renames, conda pins overridden by pip, ignored keys)."""
    options: tuple[str, ...] = ()
    """Index options from the `pip:` list (--index-url, --extra-index-url, --find-links, --prerelease)."""
    python_range: str | None = None
    """The file's Python constraint when it is a range (">=3.9", ">=3.9,<3.12"), as PEP 440."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_name(name: str) -> str:
    """PEP 503's comparable form of a package name: Foo_Bar.baz → foo-bar-baz."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _fuzzy(version: str) -> str:
    """conda's `name=VERSION` (a prefix match) as a pip specifier."""
    if version.endswith("*"):
        return "==" + version.rstrip("*").rstrip(".") + ".*"
    if _SHORT_RELEASE.match(version):
        return f"=={version}.*"
    return "==" + version


def conda_specifier(rest: str) -> str:
    """The part of a conda spec after the name (`=1.2=py39_0`, ` >=1.2,<2`, ` 1.2 build`) as PEP 440."""
    rest = rest.strip()
    if rest.startswith("["):
        found = _BRACKET_VERSION.search(rest)
        rest = found.group("version").strip() if found else ""
    if not rest:
        return ""
    if rest.startswith(_OPERATORS):  # `>=1.2,<2`, `>= 1.2, <2`, `>=1.2 build`
        return _SPACED_OPERATOR.sub(r"\1", rest).split()[0]
    exact = rest.startswith("==")
    version = rest.lstrip("=").strip().split("=")[0].split()[0] if rest.strip("= ") else ""
    if not version.strip("*."):  # `name`, `name *`
        return ""
    if exact:
        return "==" + version
    if rest.startswith("=") or version.endswith("*"):
        return _fuzzy(version)
    return "==" + version  # the space form, `name 1.2 build`: a bare version is exact


def python_request(spec_rest: str) -> tuple[str | None, str | None]:
    """`python`'s constraint → ("X.Y", None) for a pin, (None, range) for a range, (None, None) for none."""
    specifier = conda_specifier(spec_rest)
    if not specifier:
        return None, None
    if specifier.startswith("=="):
        parts = specifier[2:].removesuffix(".*").split(".")
        return ".".join(parts[:2]), None
    return None, specifier


def _conda_dependency(entry: str) -> tuple[str | None, str | None, str | None]:
    """(requirement, skip reason, note) for one conda dependency string."""
    text = entry.strip()
    channel = None
    if "::" in text:
        channel, text = text.split("::", 1)
        channel = channel.split("/")[0]
    match = _SPEC.match(text)
    if match is None:
        return None, "not a conda package spec", None
    name, rest = match.group("name"), match.group("rest")
    reason = names.skip_reason(name, channel)
    if reason is not None:
        return None, reason, None
    pypi = names.pypi_name(name)
    note = f"{name} is {pypi} on PyPI" if pypi != name else None
    specifier = conda_specifier(rest)
    if "|" in specifier:
        note = f"{entry}: pip has no 'or' in version specs; the requirement is passed on as written"
    return pypi + specifier, None, note


def _pip_entries(
    entries: list[Any], requirements: list[str], skipped: list[tuple[str, str]], options: list[str]
) -> None:
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            continue
        if entry.startswith("-"):
            flag, _, value = entry.replace("=", " ", 1).partition(" ")
            if flag in _PIP_OPTIONS and value.strip():
                options += [_PIP_OPTIONS[flag], value.strip()]
            elif flag == "--pre":
                options += ["--prerelease", "allow"]
            else:
                skipped.append((entry, "pip option not supported in mlk's local environments"))
            continue
        found = _REQUIREMENT_NAME.match(entry)
        reason = names.SERVED_BY_MLK.get(normalise_name(found.group("name"))) if found else None
        if reason is not None:
            skipped.append((entry, reason))
        else:
            requirements.append(entry)


def pip_plan(conda: Mapping[str, Any]) -> PipPlan:
    """Turn a parsed conda environment file into the plan `uv pip install` carries out."""
    python: str | None = None
    python_range: str | None = None
    from_conda: list[str] = []
    from_pip: list[str] = []
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    options: list[str] = []
    for dependency in conda.get("dependencies") or ():
        if isinstance(dependency, Mapping):
            for key, value in dependency.items():
                if key == "pip" and isinstance(value, list):
                    _pip_entries(value, from_pip, skipped, options)
                else:
                    notes.append(f"dependencies entry '{key}:' ignored (only 'pip:' lists are understood)")
            continue
        entry = str(dependency)
        match = _SPEC.match(entry.strip().split("::")[-1])
        if match and match.group("name").lower() == "python":
            python, python_range = python_request(match.group("rest"))
        requirement, reason, note = _conda_dependency(entry)
        if reason is not None:
            skipped.append((entry, reason))
        if requirement is not None:
            from_conda.append(requirement)
        if note is not None:
            notes.append(note)
    pip_names = {normalise_name(m.group("name")) for r in from_pip if (m := _REQUIREMENT_NAME.match(r))}
    kept: list[str] = []
    for requirement in from_conda:
        found = _REQUIREMENT_NAME.match(requirement)
        if found and normalise_name(found.group("name")) in pip_names:
            notes.append(f"{requirement} from conda left out: the pip: list names the same package, and pip wins")
        else:
            kept.append(requirement)
    if conda.get("variables"):
        notes.append("variables: are not applied; set them as the deployment's environment_variables")
    requirements = [*kept, *from_pip]
    cap = _numpy_cap(requirements)
    if cap is not None:
        requirements.append("numpy<2")
        notes.append(f"numpy<2 added: {cap} was built against numpy 1 (conda's solver would pick such a numpy)")
    return PipPlan(python, tuple(requirements), tuple(skipped), tuple(notes), tuple(options), python_range)


# The first release of each package that works with numpy 2: an exact pin below it breaks at import
# ("numpy.dtype size changed") when pip, unlike conda, picks the newest numpy.
_NUMPY2_SINCE = {
    "scikit-learn": (1, 4, 2),
    "pandas": (2, 2, 2),
    "scipy": (1, 13, 0),
    "matplotlib": (3, 8, 4),
    "torch": (2, 3, 0),
    "tensorflow": (2, 18, 0),
    "pyarrow": (16, 0, 0),
    "numba": (0, 60, 0),
}
_PIN = re.compile(r"^\s*(?P<name>[A-Za-z0-9_.\-]+)\s*==\s*(?P<version>\d+(?:\.\d+){0,2})(?:\.\*)?\s*$")


def _numpy_cap(requirements: list[str]) -> str | None:
    """The pinned requirement that needs numpy 1, when numpy itself is left free to be 2."""
    numpy = [
        r for r in requirements if (m := _REQUIREMENT_NAME.match(r)) and normalise_name(m.group("name")) == "numpy"
    ]
    if any(re.search(r"==|<|~=", r) for r in numpy):
        return None  # the file says which numpy it wants
    for requirement in requirements:
        pinned = _PIN.match(requirement)
        if not pinned:
            continue
        since = _NUMPY2_SINCE.get(normalise_name(pinned.group("name")))
        version = tuple(int(p) for p in pinned.group("version").split("."))
        if since is not None and version + (0,) * (3 - len(version)) < since:
            return requirement
    return None
