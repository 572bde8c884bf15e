"""Runs inside the reference virtual environment (azure-ai-ml): load each file with Azure's own loader.

Input on stdin: JSON [[kind, path], ...]. Output on stdout: JSON {path: "accepts" | "rejects: <message>"}.
Kept free of mlk imports: this file is executed by another interpreter.
"""

import io
import json
import logging
import os
import sys
import warnings

import yaml

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

from azure.ai.ml import (  # noqa: E402
    load_compute,
    load_environment,
    load_model,
    load_online_deployment,
    load_online_endpoint,
)

LOADERS = {
    "online-endpoint": load_online_endpoint,
    "online-deployment": load_online_deployment,
    "compute": load_compute,
    "environment": load_environment,
    "model": load_model,
}


def main() -> None:
    verdicts = {}
    for kind, path in json.load(sys.stdin):
        try:
            source, extra = path, {}
            if kind == "online-deployment":
                with open(path) as f:
                    data = yaml.safe_load(f)
                if isinstance(data, dict) and "type" not in data and "managedOnline" not in str(data.get("$schema")):
                    # mlk reads a deployment without `type` as kubernetes, Azure as managed: compare like for like.
                    data["type"] = "kubernetes"
                    source = io.StringIO(yaml.safe_dump(data))
                    extra["relative_origin"] = os.path.abspath(path)
            LOADERS[kind](source, **extra)
            verdicts[path] = "accepts"
        except Exception as exc:  # any failure of Azure's loader is its verdict
            verdicts[path] = "rejects: " + " ".join(str(exc).split())[:300]
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
