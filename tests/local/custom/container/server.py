"""A custom container's own server (no mlk, no azmlinfsrv): its own routes on its own port, as Azure's
custom-container samples have (TF Serving, Triton): liveness /healthz, readiness /ready once the model is
there, scoring POST /predict. It answers what it was sent and what it read from the model."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODELS = Path(os.environ.get("MODELS", "/models"))


def greeting() -> str | None:
    found = sorted(MODELS.rglob("greeting.txt"))
    return found[0].read_text().strip() if found else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            return self.reply(200, {"alive": True})
        if self.path == "/ready":
            return self.reply(200 if greeting() else 503, {"model": greeting()})
        return self.reply(404, {"error": f"no GET {self.path} here"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"null")
        if not self.path.startswith("/predict"):
            return self.reply(404, {"error": f"no POST {self.path} here"})
        answer = {
            "route": self.path,
            "greeting": greeting(),
            "echo": sent,
            "model_dir": os.environ.get("AZUREML_MODEL_DIR"),
            "user": os.getuid(),
        }
        return self.reply(200, answer)


print("tiny server on :8000", flush=True)
ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
