import time

from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    pause = float(request.args.get("pause", "1"))
    marker = request.args.get("marker")

    def tokens():  # as Azure's streaming sample: a generator handed to AMLResponse
        try:
            yield "first "
            time.sleep(pause)
            yield "second"
        finally:
            if marker:
                with open(marker, "w") as out:
                    out.write("closed")

    return AMLResponse(tokens(), 200)
