"""Tells who answered: the deployment (DEPLOYMENT_TAG), the process (one per instance) and the model's files.
Prints a line per request, so get-logs shows which deployment scored what (mirrored copies included)."""

import json
import os
import time


def init():
    global model_files
    model_files = sorted(os.listdir(os.environ["AZUREML_MODEL_DIR"]))
    print(f"init: model files {model_files}", flush=True)


def run(raw_data):
    data = json.loads(raw_data) if raw_data else {}
    time.sleep(float(data.get("sleep", 0)))
    deployment = os.environ.get("DEPLOYMENT_TAG")
    print(f"scored by {deployment} in {os.getpid()}", flush=True)
    return {"deployment": deployment, "pid": os.getpid(), "model": model_files}
