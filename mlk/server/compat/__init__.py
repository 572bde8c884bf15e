"""What score.py files import from Azure's packages, provided by mlk so they run unchanged.

`install()` registers these modules under Azure's names before the user's script is imported (as
azmlinfsrv aliases its own), so `from azureml.contrib.services.aml_request import rawhttp` works whether
or not any azureml package is installed, and always yields the types mlk's server understands.
"""

from __future__ import annotations

import importlib
import sys
import types

from mlk.server.compat import aml_request, aml_response

_ALIASES = {
    "azureml.contrib.services.aml_request": aml_request,
    "azureml.contrib.services.aml_response": aml_response,
    "azureml_inference_server_http.api.aml_request": aml_request,
    "azureml_inference_server_http.api.aml_response": aml_response,
}
_PARENTS = (
    "azureml",
    "azureml.contrib",
    "azureml.contrib.services",
    "azureml_inference_server_http",
    "azureml_inference_server_http.api",
)


def install() -> None:
    for parent in _PARENTS:
        if parent in sys.modules:
            continue
        try:
            importlib.import_module(parent)
        except ImportError:  # no azureml package here: an empty package is all the imports need
            module = types.ModuleType(parent)
            module.__path__ = []
            sys.modules[parent] = module
    for name, module in _ALIASES.items():
        sys.modules[name] = module
        parent_name, _, child = name.rpartition(".")
        setattr(sys.modules[parent_name], child, module)
