"""Scoring script for the example models: unchanged from the shape of Azure ML's own samples."""

import json
import logging
import os

import joblib
import numpy


def init():
    """Called once when the server starts: load the model into a global."""
    global model
    # AZUREML_MODEL_DIR is the folder the model was registered from; ours holds model/sklearn_regression_model.pkl
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model/sklearn_regression_model.pkl")
    model = joblib.load(model_path)
    logging.info("Init complete")


def run(raw_data):
    """Called per request with the body as a string: {"data": [[10 features], ...]} → predictions."""
    logging.info("model 1: request received")
    data = json.loads(raw_data)["data"]
    data = numpy.array(data)
    result = model.predict(data)
    logging.info("Request processed")
    return result.tolist()
