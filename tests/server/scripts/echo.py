"""Plain run(data): the body text picks what run() returns (mirrors the behaviour matrix)."""

import json
import os
import time

from azureml.contrib.services.aml_response import AMLResponse


def init():
    global init_pid
    init_pid = os.getpid()


def run(data):
    if data.startswith("sleep:"):
        time.sleep(float(data[6:]))
        return {"slept": float(data[6:])}
    table = {
        "str": lambda: "hello",
        "strjson": lambda: '{"a": 1}',
        "dict": lambda: {"a": 1, "b": [1, 2]},
        "list": lambda: [1, "x", None],
        "none": lambda: None,
        "int": lambda: 42,
        "float": lambda: 1.5,
        "nan": lambda: float("nan"),
        "bool": lambda: True,
        "tuple": lambda: (1, 2),
        "bytes": lambda: b"abc",
        "set": lambda: {1},
        "unicode": lambda: "h\u00e9llo \u2603",
        "emptydict": dict,
        "aml": lambda: AMLResponse("raw body", 201, {"X-Custom": "a, b", "Content-Type": "text/plain"}),
        "aml500": lambda: AMLResponse("bad", 503),
        "amlnone": lambda: AMLResponse(None, 202),
        "amljson": lambda: AMLResponse({"k": "v"}, 200, json_str=True),
        "amlbytes": lambda: AMLResponse(b"\x89PNG\x00\xff", 200, {"Content-Type": "image/png"}),
        "amlsplit": lambda: AMLResponse("x", 200, {"X-Evil": "a\r\nSet-Cookie: stolen=1"}),
        "amlnul": lambda: AMLResponse("x", 200, {"X-Evil\x00": "a"}),
        "modeldir": lambda: {"model_dir": os.environ.get("AZUREML_MODEL_DIR")},
        "pid": lambda: {"pid": os.getpid(), "init_pid": init_pid},
    }
    if data in table:
        return table[data]()
    if data == "raise":
        raise ValueError("boom from run")
    if data == "print":
        print("x" * 1_000_000)
        return {"printed": 1_000_000}
    return {"echo": data, "type": type(data).__name__, "len": len(data), "json": _maybe_json(data)}


def _maybe_json(data):
    try:
        return json.loads(data)
    except ValueError:
        return None
