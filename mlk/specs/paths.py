"""Local files a spec points at: which fields hold paths, that they exist, and their absolute form.

Relative paths are relative to the folder of the YAML file that names them, as in az ml. A scoring script
is relative to its code folder and a Dockerfile to its build context; those two stay relative in the
resolved spec because the server and the image build read them that way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlk.specs import kinds
from mlk.specs.problems import JsonPath
from mlk.specs.relative import leaving_reason

Expect = Literal["file", "dir", "any"]


@dataclass(frozen=True)
class LocalPath:
    path: JsonPath
    """Where the value sits in the document."""
    value: str
    """The path as written."""
    expect: Expect
    target: Path
    """The path it names on disk."""
    keep_relative: bool = False
    """True for paths that are relative to another path field (scoring_script, dockerfile_path)."""
    within: tuple[str, Path] | None = None
    """(the field as written, its folder) for a path that must stay inside that folder: a scoring script
    inside its code folder (only the folder is uploaded; a path out of it would read the machine's files)."""


def is_reference(value: str) -> bool:
    """`azureml:name:version`, `azureml:name@latest`, ARM ids, and URLs are not local paths."""
    return value.startswith("azureml:") or "://" in value


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _expanded(value: str) -> Path:
    try:
        return Path(value).expanduser()
    except (RuntimeError, ValueError):  # `~name/...` for an unknown user (or with a NUL): a plain name then
        return Path(value)


def _under(base: Path, value: str) -> Path:
    path = _expanded(value)
    return path if path.is_absolute() else base / path


def _environment(data: Any, prefix: JsonPath, base: Path) -> Iterator[LocalPath]:
    conda = _get(data, (*prefix, "conda_file"))
    if isinstance(conda, str) and not is_reference(conda):
        yield LocalPath((*prefix, "conda_file"), conda, "file", _under(base, conda))
    context = _get(data, (*prefix, "build", "path"))
    if isinstance(context, str) and not is_reference(context):
        context_dir = _under(base, context)
        yield LocalPath((*prefix, "build", "path"), context, "dir", context_dir)
        dockerfile = _get(data, (*prefix, "build", "dockerfile_path")) or "Dockerfile"
        yield LocalPath(
            (*prefix, "build", "dockerfile_path"),
            dockerfile,
            "file",
            _under(context_dir, dockerfile),
            keep_relative=True,
        )


def _data_expect(data_type: Any) -> Expect:
    """What a data input or asset's local path must be; Azure's default type is uri_folder."""
    if data_type in (None, "uri_folder"):
        return "dir"
    return "file" if data_type == "uri_file" else "any"


def _job(data: dict[str, Any], base: Path) -> Iterator[LocalPath]:
    code = data.get("code")
    if isinstance(code, str) and not is_reference(code):
        yield LocalPath(("code",), code, "dir", _under(base, code))
    inputs = data.get("inputs")
    for name, item in (inputs if isinstance(inputs, dict) else {}).items():
        # literal inputs are text for the command, not paths, even when they look like one
        if isinstance(item, dict) and isinstance(item.get("path"), str) and not is_reference(item["path"]):
            path = item["path"]
            yield LocalPath(("inputs", name, "path"), path, _data_expect(item.get("type")), _under(base, path))
    if isinstance(data.get("environment"), dict):
        yield from _environment(data, ("environment",), base)


def local_paths(kind: kinds.Kind, data: Any, base: Path) -> list[LocalPath]:
    """Every local path a document of `kind` names, in document order."""
    found: list[LocalPath] = []
    if not isinstance(data, dict):
        return found
    if kind is kinds.DEPLOYMENT:
        model = data.get("model")
        if isinstance(model, str) and not is_reference(model):
            found.append(LocalPath(("model",), model, "any", _under(base, model)))
        elif isinstance(model, dict) and isinstance(model.get("path"), str) and not is_reference(model["path"]):
            found.append(LocalPath(("model", "path"), model["path"], "any", _under(base, model["path"])))
        code = _get(data, ("code_configuration", "code"))
        if isinstance(code, str) and not is_reference(code):
            code_dir = _under(base, code)
            found.append(LocalPath(("code_configuration", "code"), code, "dir", code_dir))
            script = _get(data, ("code_configuration", "scoring_script"))
            if isinstance(script, str):
                found.append(
                    LocalPath(
                        ("code_configuration", "scoring_script"),
                        script,
                        "file",
                        _under(code_dir, script),
                        keep_relative=True,
                        within=(code, code_dir),
                    )
                )
        if isinstance(data.get("environment"), dict):
            found.extend(_environment(data, ("environment",), base))
    elif kind is kinds.ENVIRONMENT:
        found.extend(_environment(data, (), base))
    elif kind is kinds.MODEL:
        if isinstance(data.get("path"), str) and not is_reference(data["path"]):
            found.append(LocalPath(("path",), data["path"], "any", _under(base, data["path"])))
    elif kind is kinds.JOB:
        found.extend(_job(data, base))
    elif kind is kinds.DATA:
        if isinstance(data.get("path"), str) and not is_reference(data["path"]):
            expect = _data_expect(data.get("type"))
            found.append(LocalPath(("path",), data["path"], expect, _under(base, data["path"])))
    elif kind is kinds.EXTENSION_CONFIG:
        for key in ("sslCertPemFile", "sslKeyPemFile"):
            if isinstance(data.get(key), str):
                found.append(LocalPath((key,), data[key], "file", _under(base, data[key])))
    return found


def shown(path: Path) -> str:
    """A path as messages show it: relative to the working directory when under it."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def outside_reason(item: LocalPath) -> str | None:
    """Why a path that must stay inside its folder does not, as written or through a symbolic link; None
    when it stays (or has no such folder)."""
    if item.within is None:
        return None
    folder_value, folder = item.within
    written = leaving_reason(item.value, folder_value)
    if written:
        return written
    if "\0" in str(folder):  # a folder no file system has: its own entry says so
        return None
    real_folder = Path(os.path.realpath(folder))
    real = Path(os.path.realpath(item.target))
    if real_folder.is_dir() and not real.is_relative_to(real_folder):
        return (
            f"'{item.value}' links to {shown(real)}, outside the code folder '{folder_value}': only that folder "
            "is deployed; copy the file into it instead of linking to it"
        )
    return None


def missing_reason(item: LocalPath) -> str | None:
    """Why the path is unusable, or None when it is fine."""
    if "\0" in item.value:  # no file system has such a name (and os.path refuses to look)
        return f"{item.value!r} contains a NUL character: it names no file"
    outside = outside_reason(item)
    if outside:
        return outside
    target = item.target
    if not target.exists():
        if item.value.startswith("file:"):
            return f"'{item.value}' does not exist: drop the `file:` prefix (preview syntax)"
        return f"'{item.value}' does not exist (looked for {shown(target)})"
    if item.expect == "file" and not target.is_file():
        return f"'{item.value}' is a folder; a file is needed here"
    if item.expect == "dir" and not target.is_dir():
        return f"'{item.value}' is a file; a folder is needed here"
    return None


def resolve(kind: kinds.Kind, data: Any, base: Path) -> None:
    """Rewrite relative local paths in place as absolute ones (except those relative to another field)."""
    for item in local_paths(kind, data, base):
        if item.keep_relative:
            continue
        *parents, last = item.path
        holder = data
        for part in parents:
            holder = holder[part]
        holder[last] = str(item.target.resolve())
