"""Serve the trained mean: the answer is how far each input is from it."""

import json
import os


def init():
    global mean
    for folder, _, files in os.walk(os.environ["AZUREML_MODEL_DIR"]):
        if "mean.json" in files:
            with open(os.path.join(folder, "mean.json")) as handle:
                mean = json.load(handle)["mean"]


def run(raw_data):
    return {"mean": mean, "distances": [value - mean for value in json.loads(raw_data)["data"]]}
