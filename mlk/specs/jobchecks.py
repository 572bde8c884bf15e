"""Rules for command jobs and data assets that JSON Schema cannot say.

The command's `${{inputs.x}}` bindings must name declared inputs: Azure finds a typo only when the job
reaches the service; here it is a located problem with the closest declared name. mltable is refused with
the types mlk does read, and the fields mlk accepts for compatibility but does not act on are warned about.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlk.specs.bindings import OPTIONAL, references

if TYPE_CHECKING:
    from mlk.specs.checks import Checker

INPUT_MODES = ("ro_mount", "download", "direct")
LITERAL_TYPES = ("string", "integer", "number", "boolean")
OUTPUT_MODES = ("rw_mount", "upload", "direct")
MLTABLE = "mltable is not supported: mlk reads files and folders; use uri_file (one file) or uri_folder (a folder)"
# Fields Azure's job YAML has that mean nothing off Azure: accepted so files work unchanged, but said so.
IGNORED = {
    "services": "interactive services (Jupyter, SSH, TensorBoard, VS Code) are Azure's; mlk ignores them",
    "identity": "mlk ignores identity: the job reads data with mlk's own access (this machine's or the cluster's)",
    "queue_settings": "queue_settings (Azure's job tier and priority) are ignored by mlk",
}
_SINGULAR = {"inputs": "input", "outputs": "output"}


def _closest(word: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _declared(data: dict[str, Any], group: str) -> dict[str, Any]:
    value = data.get(group)
    return value if isinstance(value, dict) else {}


def _check_bindings(c: Checker, data: dict[str, Any]) -> None:
    command: str = data["command"]
    for group, name in references(OPTIONAL.sub("", command)):
        declared = _declared(data, group)
        if name in declared:
            continue
        hint = _closest(name, declared) or f"; declare it under `{group}:`"
        c.error(("command",), f"${{{{{group}.{name}}}}}: no {_SINGULAR[group]} '{name}' is declared{hint}")
    # An optional part naming an undeclared input is legal but can never be kept: likely a typo.
    for part in OPTIONAL.findall(command):
        for group, name in references(part):
            if name not in _declared(data, group):
                c.warn(
                    ("command",),
                    f"$[[...]] with ${{{{{group}.{name}}}}} is always dropped: no {_SINGULAR[group]} '{name}' "
                    f"is declared{_closest(name, _declared(data, group))}",
                )


def _check_inputs(c: Checker, inputs: dict[str, Any]) -> None:
    for name, item in inputs.items():
        if not isinstance(item, dict):  # a literal: text for the command
            continue
        where = ("inputs", name)
        if item.get("type") in LITERAL_TYPES:  # {type: integer, default: 5}: a literal as components write it
            for field in ("path", "mode"):
                if field in item:
                    c.error((*where, field), f"a literal input (type {item['type']}) takes `default`, not {field}")
            continue
        if item.get("type") == "mltable":
            c.error((*where, "type"), MLTABLE)
        if "path" not in item and item.get("optional") is not True:
            c.error(
                where,
                f"input '{name}' needs `path`: a local file or folder, an https:// URL, "
                "azureml://datastores/<datastore>/paths/<path> or azureml:<data>:<version>",
            )
        mode = item.get("mode")
        if mode is not None and mode not in INPUT_MODES:
            why = "is for mltable inputs" if str(mode).startswith("eval_") else "is an output mode"
            c.error((*where, "mode"), f"{mode} {why}; an input's mode is ro_mount (the default), download or direct")


def _check_outputs(c: Checker, outputs: dict[str, Any]) -> None:
    for name, item in outputs.items():
        where = ("outputs", name)
        if item.get("type") == "mltable":
            c.error((*where, "type"), MLTABLE)
        mode = item.get("mode")
        if mode is not None and mode not in OUTPUT_MODES:
            c.error(
                (*where, "mode"),
                f"{mode} is an input mode; an output's mode is rw_mount (the default), upload or direct",
            )


def _check_distribution(c: Checker, distribution: dict[str, Any]) -> None:
    kind = distribution["type"]
    wrong = ("process_count_per_instance",) if kind == "tensorflow" else ("worker_count", "parameter_server_count")
    for field in wrong:
        if field in distribution:
            takes = (
                "worker_count and parameter_server_count"
                if kind == "tensorflow"
                else "process_count_per_instance (processes per node)"
            )
            c.error(("distribution", field), f"a {kind} distribution takes {takes}, not {field}", key=True)
    least = {"process_count_per_instance": 1, "worker_count": 1, "parameter_server_count": 0}
    for field, minimum in least.items():
        value = distribution.get(field)
        if isinstance(value, int) and value < minimum:
            c.error(("distribution", field), f"{field} must be at least {minimum}, not {value}")


def check_job(c: Checker, data: dict[str, Any]) -> None:
    _check_bindings(c, data)
    _check_inputs(c, _declared(data, "inputs"))
    _check_outputs(c, _declared(data, "outputs"))
    count = (data.get("resources") or {}).get("instance_count")
    if isinstance(count, int) and count < 1:
        c.error(("resources", "instance_count"), f"instance_count is the number of nodes: at least 1, not {count}")
    if isinstance(data.get("distribution"), dict):
        _check_distribution(c, data["distribution"])
    timeout = (data.get("limits") or {}).get("timeout")
    if isinstance(timeout, int) and timeout <= 0:
        c.error(("limits", "timeout"), f"timeout is in seconds and must be more than 0, not {timeout}")
    for field, why in IGNORED.items():
        if field in data:
            c.warn((field,), why, key=True)
    if "docker_args" in (data.get("resources") or {}):
        c.warn(("resources", "docker_args"), "mlk ignores docker_args: set resources through instance_type", key=True)


def check_data(c: Checker, data: dict[str, Any]) -> None:
    if data.get("type") == "mltable":
        c.error(("type",), MLTABLE)
    path = str(data["path"])
    if path.startswith("azureml:") and not path.startswith("azureml://"):
        c.error(
            ("path",),
            f"'{path}' names an asset; a data asset's path is a local file or folder, an https:// URL "
            "or azureml://datastores/<datastore>/paths/<path>",
        )
