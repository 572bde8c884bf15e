"""run() with request_headers: reports the names and a few values it received."""


def init():
    pass


def run(data, request_headers):
    picked = {k: v for k, v in request_headers.items() if k.startswith("X-") or k == "Content-Type"}
    return {"data": data, "picked": picked, "has_host": "Host" in request_headers}
