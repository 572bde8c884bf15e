"""A raw-HTTP scoring script: several multipart files named `file[]` in, a JSON description of each out."""

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request: AMLRequest):
    files = request.files.getlist("file[]")
    if not files:
        return AMLResponse("no file[] in the request", 400)
    described = []
    for upload in files:
        data = upload.read()
        width, height = (int(v) for v in data.split(maxsplit=3)[1:3])
        described.append({"filename": upload.filename, "bytes": len(data), "width": width, "height": height})
    return AMLResponse(described, 200, json_str=True)
