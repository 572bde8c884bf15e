"""A light score.py for local-runtime tests: answers fast, can be told to sleep or fail."""

import json
import os
import time


def init():
    global started
    started = time.time()
    delay = float(os.environ.get("INIT_SLEEP", "0"))
    time.sleep(delay)
    if os.environ.get("INIT_FAIL"):
        raise RuntimeError("init failed on purpose: model file corrupted")


def run(raw_data):
    data = json.loads(raw_data) if raw_data else {}
    if data.get("sleep"):
        time.sleep(data["sleep"])
    if data.get("environment"):
        return {"environment": sorted(os.environ)}
    return {
        "pid": os.getpid(),
        "model": sorted(os.listdir(os.environ["AZUREML_MODEL_DIR"])),
        "deployment": os.environ.get("DEPLOYMENT_TAG"),
    }
