"""The part of a kubelet's HTTPS server that the API server calls: container logs (kubectl logs, mlk
get-logs). TLS with a certificate of the cluster's CA; only the API server's client certificate (the
--kubelet-client-certificate it presents, signed by the same CA) is let in.

Not served: exec, attach, port-forward (they need the kubelet's streaming protocols; the README says
so and the kind workflow covers them).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# (namespace, pod, container, previous) → (log file, still running?) or None
LogLookup = Callable[[str, str, str, bool], tuple[Path, Callable[[], bool]] | None]


def _tail(data: bytes, lines: int | None, limit: int | None) -> bytes:
    if lines is not None:
        parts = data.splitlines(keepends=True)
        data = b"".join(parts[-lines:]) if lines > 0 else b""
    if limit is not None:
        data = data[:limit]
    return data


def serve(host: str, port: int, cert: Path, key: Path, ca: Path, lookup: LogLookup) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            if url.path == "/healthz":
                self._answer(200, b"ok")
                return
            if len(parts) != 4 or parts[0] != "containerLogs":
                self._answer(404, b"not served by the test node agent\n")
                return
            found = lookup(parts[1], parts[2], parts[3], query.get("previous") == "true")
            if found is None:
                self._answer(404, f'container "{parts[3]}" in pod "{parts[2]}" has no logs\n'.encode())
                return
            path, running = found
            data = path.read_bytes() if path.exists() else b""
            lines = int(query["tailLines"]) if "tailLines" in query else None
            limit = int(query["limitBytes"]) if "limitBytes" in query else None
            if query.get("follow") != "true":
                self._answer(200, _tail(data, lines, limit))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = len(data)
            self._chunk(_tail(data, lines, None))
            while running():
                time.sleep(0.2)
                more = path.read_bytes()[sent:] if path.exists() else b""
                sent += len(more)
                if more and not self._chunk(more):
                    return
            self._chunk(b"")

        def _chunk(self, data: bytes) -> bool:
            try:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                return False
            return True

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name="kubelet-server", daemon=True).start()
    return server
