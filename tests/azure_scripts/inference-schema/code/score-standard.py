"""inference-schema with plain Python types: `data` arrives as a list of rows, `method` has a default."""

import os

import joblib
import numpy
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "sklearn_regression_model.pkl"))


@input_schema("data", StandardPythonParameterType([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]]))
@input_schema("method", StandardPythonParameterType("predict"))
@output_schema(StandardPythonParameterType({"predictions": [5430.9], "input_type": "list"}))
def run(data, method="predict"):
    if method != "predict":
        raise ValueError(f"unknown method {method!r}")
    return {"predictions": model.predict(numpy.array(data)).tolist(), "input_type": type(data).__name__}
