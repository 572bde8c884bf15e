import json

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    mode = request.args.get("mode", "")
    if mode == "str":
        return "plain string"
    if mode == "raise":
        raise ValueError("raw boom")
    if mode == "echo":
        return AMLResponse(request.get_data(), 200, {"Content-Type": "application/octet-stream"})
    if mode == "json":
        return AMLResponse(request.get_json(silent=True), 200, json_str=True)
    if mode == "teapot":
        return AMLResponse("short and stout", 418, {"X-Pot": "tea"})
    info = {
        "method": request.method,
        "path": request.path,
        "full_path": request.full_path,
        "query_string": request.query_string.decode(),
        "args": request.args.to_dict(flat=False),
        "data": request.get_data(as_text=True),
        "content_type": request.content_type,
        "is_json": request.is_json,
        "form": request.form.to_dict(flat=False),
        "x_custom": request.headers.get("X-Custom"),
        "is_aml_request_type": isinstance(AMLRequest, type),
    }
    return AMLResponse(json.dumps(info), 200, {"Content-Type": "application/json"})
