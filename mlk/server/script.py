"""Importing a user's score.py and deciding how run() is called — the rules azmlinfsrv applies.

The script is imported under the name `entry_module` (not added to sys.modules), with AML_APP_ROOT on
sys.path. run() is called one of three ways, chosen once:
  raw     @rawhttp was applied: run(request) gets the request object;
  schema  inference-schema's @input_schema/@output_schema decorate run: JSON body → keyword arguments;
  plain   run(data) gets the body as a string (GET: the query arguments as a JSON string).
A `request_headers` parameter, if run() has one, receives the request's headers in every mode.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

from mlk.server import compat
from mlk.server.compat import aml_request
from mlk.server.settings import ServerSettings

log = logging.getLogger("azmlinfsrv.user_script")
REQUEST_HEADERS = "request_headers"
NO_DEFAULT = object()


class ScriptError(Exception):
    """The script cannot be served; the server logs this and exits with code 3."""


class RunMode(StrEnum):
    PLAIN = "plain"
    SCHEMA = "schema"
    RAW = "raw"


@dataclass
class ScoreScript:
    path: Path
    module: ModuleType
    run: Any
    mode: RunMode
    input_name: str
    """run()'s first parameter other than request_headers (plain and raw modes)."""
    params: list[tuple[str, Any]] = field(default_factory=list)
    """Schema mode: run()'s parameters (except request_headers) and their defaults, in order."""
    wants_headers: bool = False

    def call_init(self) -> None:
        log.info("Invoking user's init function")
        self.module.init()
        log.info("Users's init has completed successfully")


def _import(path: Path) -> ModuleType:
    if not path.is_file():
        raise ScriptError(f"No such file or directory: '{path}'")
    spec = importlib.util.spec_from_file_location("entry_module", path)
    if spec is None or spec.loader is None:
        raise ScriptError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        raise ScriptError("Failed to import user script because it raised an unhandled exception") from exc
    return module


def _schema_decorated(run: Any) -> bool:
    try:
        from inference_schema.schema_util import is_schema_decorated
    except ImportError:
        return False
    try:
        return bool(is_schema_decorated(run))
    except Exception:  # an odd run() object: inference-schema's registry simply has no record of it
        return False


def prepare_environment(settings: ServerSettings) -> None:
    os.environ.update(settings.extra_env)
    for folder in (str(settings.app_root), os.getcwd()):
        if folder not in sys.path:
            sys.path.append(folder)
    compat.install()
    aml_request.reset()


def load(settings: ServerSettings) -> ScoreScript:
    """Import score.py and check it can be served; ScriptError says why not."""
    prepare_environment(settings)
    path = settings.entry_script
    module = _import(path)
    log.info("Found user script at %s", path)
    if not callable(getattr(module, "init", None)):
        raise ScriptError(f"User script at {path} does not have a init() function defined.")
    if not callable(getattr(module, "run", None)):
        raise ScriptError(f"User script at {path} does not have a run() function defined.")
    run = module.run
    driver = getattr(module, "driver_module", None)
    if isinstance(driver, ModuleType) and callable(getattr(driver, "run", None)):
        log.info("Found driver script at %s and the score script at %s", driver.__file__, path)
        run = driver.run
    signature = inspect.signature(run)
    names = []
    for param in signature.parameters.values():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise ScriptError("run() cannot accept positional-only arguments, *args, or **kwargs.")
        names.append(param.name)
    if not names:
        raise ScriptError("run() needs to accept an argument for input data.")
    inputs = [n for n in names if n != REQUEST_HEADERS]
    if not inputs:
        raise ScriptError('run() needs to accept an argument other than "request_headers".')
    raw, schema = aml_request.requested(), _schema_decorated(run)
    if raw and schema:
        raise ScriptError("run() cannot be decorated with both @rawhttp and @input_schema")
    params = [
        (p.name, NO_DEFAULT if p.default is p.empty else p.default)
        for p in signature.parameters.values()
        if p.name != REQUEST_HEADERS
    ]
    mode = RunMode.RAW if raw else RunMode.SCHEMA if schema else RunMode.PLAIN
    if mode is RunMode.RAW:
        log.info("run() is decorated with @rawhttp. Server will invoke it with the request object.")
    elif mode is RunMode.SCHEMA:
        log.info(
            "run() is decorated with @input_schema. Server will invoke it with the following arguments: %s.",
            ", ".join(inputs),
        )
    else:
        log.info("run() is not decorated. Server will invoke it with the input in JSON string.")
    return ScoreScript(path, module, run, mode, inputs[0], params, REQUEST_HEADERS in names)
