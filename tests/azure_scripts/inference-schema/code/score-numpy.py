"""inference-schema with a numpy array: `data` arrives as an ndarray of two rows of 10 features."""

import os

import joblib
import numpy
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "sklearn_regression_model.pkl"))


@input_schema("data", NumpyParameterType(numpy.array([[1.0] * 10, [2.0] * 10])))
@output_schema(NumpyParameterType(numpy.array([5430.9, 4005.7])))
def run(data):
    assert isinstance(data, numpy.ndarray), type(data)
    return model.predict(data).tolist()
