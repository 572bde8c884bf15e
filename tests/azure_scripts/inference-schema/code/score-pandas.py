"""inference-schema with a DataFrame: `data` arrives as records with one column per feature."""

import os

import joblib
import pandas
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema

FEATURES = [f"f{i}" for i in range(10)]


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "sklearn_regression_model.pkl"))


@input_schema("data", PandasParameterType(pandas.DataFrame([[1.0] * 10], columns=FEATURES)))
@output_schema(StandardPythonParameterType([5430.9]))
def run(data):
    assert isinstance(data, pandas.DataFrame), type(data)
    return model.predict(data[FEATURES].to_numpy()).tolist()
