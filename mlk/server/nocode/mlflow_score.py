"""The scoring script of no-code MLflow deployments (a deployment of an `mlflow_model` without
code_configuration), as Azure ML generates one: it loads the model's python_function flavor and
answers Azure's request shape.

    {"input_data": {"columns": [...], "index": [...], "data": [[...]]}}   a DataFrame (split orientation)
    {"input_data": [[...], ...]}                                         a tensor (numpy array)
    {"input_data": {"name": [...], ...}}                                 named tensors
    optional "params": {...}                                             passed to predict()

MLflow's own serving keys (dataframe_split, dataframe_records, instances, inputs) are accepted too. The
answer is the predictions as JSON: a list for arrays and Series, records for a DataFrame.

mlk serve runs it like any score.py, in the environment built from the model's own conda.yaml; mlk
itself never imports it (mlflow is the model's dependency, not mlk's).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from mlk.server.compat.aml_response import AMLResponse

log = logging.getLogger("mlk.mlflow")
model: Any = None


def model_folder(root: Path) -> Path:
    """The folder holding MLmodel: the model dir itself or the one folder an upload put it in."""
    for candidate in (root, *sorted(p for p in root.iterdir() if p.is_dir()), *sorted(root.glob("*/*"))):
        if (candidate / "MLmodel").is_file():
            return candidate
    raise FileNotFoundError(f"no MLmodel file in {root} (or the folders under it): is this an MLflow model?")


def init() -> None:
    global model
    import mlflow.pyfunc

    folder = model_folder(Path(os.environ.get("AZUREML_MODEL_DIR", ".")))
    model = mlflow.pyfunc.load_model(str(folder))
    log.info("MLflow model loaded from %s", folder)


def _inputs(body: dict[str, Any]) -> Any:
    import numpy as np
    import pandas as pd

    if "input_data" in body:
        data = body["input_data"]
        if isinstance(data, dict) and "data" in data and ("columns" in data or "index" in data):
            return pd.DataFrame(**{k: data[k] for k in ("columns", "index", "data") if k in data})
        if isinstance(data, dict):
            return {name: np.asarray(value) for name, value in data.items()}
        return np.asarray(data)
    if "dataframe_split" in body:
        return pd.DataFrame(**body["dataframe_split"])
    if "dataframe_records" in body:
        return pd.DataFrame.from_records(body["dataframe_records"])
    for key in ("instances", "inputs"):
        if key in body:
            value = body[key]
            return {k: np.asarray(v) for k, v in value.items()} if isinstance(value, dict) else np.asarray(value)
    raise ValueError("the request has no input_data (Azure's shape) nor dataframe_split/records, instances, inputs")


def _jsonable(predictions: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return json.loads(predictions.to_json(orient="records"))
    if isinstance(predictions, pd.Series | np.ndarray):
        return predictions.tolist()
    if isinstance(predictions, dict):
        return {k: _jsonable(v) for k, v in predictions.items()}
    return predictions


def run(raw_data: str) -> Any:
    try:
        body = json.loads(raw_data)
        if not isinstance(body, dict):
            raise ValueError("the request must be a JSON object with input_data")
        inputs = _inputs(body)
    except (ValueError, TypeError) as exc:
        return AMLResponse({"message": f"bad input for this MLflow model: {exc}"}, 400, json_str=True)
    params = body.get("params")
    predictions = model.predict(inputs, params=params) if params else model.predict(inputs)
    return _jsonable(predictions)
