"""A raw-HTTP scoring script: an image in (the body itself, or one multipart file named `file`), an image out.
The image is a binary PGM (netpbm greyscale, no library needed); the answer is its negative, as image bytes."""

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


def negative(pgm: bytes) -> bytes:
    magic, width, height, maxval, pixels = pgm.split(maxsplit=4)
    if magic != b"P5" or int(maxval) != 255 or len(pixels) != int(width) * int(height):
        raise ValueError("not an 8-bit binary PGM image")
    return b"P5\n%d %d\n255\n" % (int(width), int(height)) + bytes(255 - p for p in pixels)


@rawhttp
def run(request: AMLRequest):
    if request.method != "POST":
        return AMLResponse(f"{request.method} is not supported", 405)
    upload = request.files.get("file")
    image = upload.read() if upload else request.get_data()
    try:
        answer = negative(image)
    except ValueError as exc:
        return AMLResponse(str(exc), 400)
    return AMLResponse(answer, 200, {"Content-Type": "image/x-portable-graymap"})
