from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("data", StandardPythonParameterType([1.0, 2.0]))
@input_schema("name", StandardPythonParameterType("abc"))
@output_schema(StandardPythonParameterType({"out": [1.0]}))
def run(data, name="default", request_headers=None):
    if name == "raise":
        raise RuntimeError("schema run boom")
    return {"data": data, "name": name, "data_type": type(data).__name__, "headers": request_headers is not None}
