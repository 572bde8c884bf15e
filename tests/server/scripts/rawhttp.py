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
    if mode == "files":  # multipart uploads, read as scripts do (PIL.Image.open reads the FileStorage itself)
        uploads = [
            {"field": f.name, "filename": f.filename, "type": f.content_type, "size": len(f.read()), "head": f.seek(0)}
            for f in request.files.getlist("file[]") + request.files.getlist("file")
        ]
        return AMLResponse({"form": request.form.to_dict(flat=False), "files": uploads}, 200, json_str=True)
    if mode == "stream":  # Azure's streaming sample: a generator of chunks
        return AMLResponse((f"[{n}]" for n in range(3)), 200)
    if mode == "chunks":
        return AMLResponse([b"a", "b", b"c"], 200)
    if mode == "dictbody":  # werkzeug iterates a dict: its keys are the body
        return AMLResponse({"k1": 1, "k2": 2}, 200)
    if mode in ("mimetype", "content_type", "set_data"):
        response = AMLResponse("body", 201)
        if mode == "mimetype":
            response.mimetype = request.args.get("type", "image/jpg")
        elif mode == "content_type":
            response.content_type = "application/json"
        else:
            response.set_data(b"replaced")
        return response
    if mode == "underscore":  # Flask reads headers through the WSGI environ: is_stream is is-stream
        return AMLResponse(json.dumps([request.headers.get("is_stream"), request.headers.get("X_Custom")]), 200)
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
