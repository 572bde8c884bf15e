"""The route adapter in front of a custom container: `python -m mlk.server.nocode.routes`.

mlk's routers speak the inference server's contract to every replica: they forward a scoring request to
/score and probe GET / for health. A custom container (inference_config) serves its own routes on its own
ports instead, as on Azure. The adapter runs in the container's network namespace (a sidecar in the pod,
the sandbox on the Docker runtime) and maps one to the other:

    GET /              → GET <readiness route>   200 "Healthy" when it answers 200, else 503
    any method /score  → the same on <scoring route> (the query kept), headers and body passed through
    anything else      → 404

Bodies are read whole (up to MAX_BODY) and answers sent whole: a custom container's streamed answer
reaches the client once complete. With MLK_REPLICA_TOKEN set (the embedded default), a request without
that token is refused (401) and the token never reaches the container. Listens on TCP (--listen
HOST:PORT) or on a Unix socket (--unix PATH), which the Docker runtime reaches across namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import http.client
import json
import os
import signal
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOKEN_ENV, TOKEN_HEADER = "MLK_REPLICA_TOKEN", "x-mlk-replica-token"  # mlk.http.peer's (this runs alone)
MAX_BODY = 100 * 1024 * 1024
"""mlk serve's default body limit."""
UPSTREAM_TIMEOUT_S = 3600.0
"""Azure's scoring timeout default: the router's request_timeout_ms answers the client long before."""
DRAIN_S = 30.0
NOT_FORWARDED = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
    | {"host", "content-length", TOKEN_HEADER}
)
"""Hop-by-hop headers (RFC 9110 7.6.1), and what the adapter writes itself."""


@dataclass(frozen=True)
class Route:
    port: int
    path: str


@dataclass(frozen=True)
class Upstream:
    scoring: Route
    readiness: Route
    token: str | None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is closed after this long
    server: Any

    def address_string(self) -> str:  # a Unix socket's peer has no address
        return str(self.client_address[0]) if self.client_address else "unix"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log: the router writes one line per request

    def do_GET(self) -> None:
        self._route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _route(self) -> None:
        upstream: Upstream = self.server.upstream
        self.server.requests.acquire()
        try:
            if upstream.token is not None and not hmac.compare_digest(
                upstream.token.encode(), (self.headers.get(TOKEN_HEADER) or "").encode("latin-1")
            ):
                return self._answer(401, {"message": "this replica answers its router only"})
            body = self._body()
            if body is None:
                return None
            path, _, query = self.path.partition("?")
            if path == "/" and self.command in ("GET", "HEAD"):
                return self._health(upstream.readiness)
            if path == "/score":
                target = upstream.scoring.path + (f"?{query}" if query else "")
                return self._forward(upstream.scoring.port, target, body)
            return self._answer(404, {"message": f"no route {path}: scoring is POST /score, health GET /"})
        finally:
            self.server.requests.release()

    def _body(self) -> bytes | None:
        """The request body (chunked or sized); None after answering 400 or 413 for a bad one."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    length = int(line, 16)
                except ValueError:
                    self._answer(400, {"message": "malformed chunked body"}, close=True)
                    return None
                size += length
                if size > MAX_BODY:
                    self._answer(413, {"message": f"the body is over {MAX_BODY} bytes"}, close=True)
                    return None
                if length == 0:
                    while self.rfile.readline(1024).strip():  # trailers: read and dropped
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(length))
                self.rfile.readline(8)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._answer(400, {"message": "bad Content-Length"}, close=True)
            return None
        if length > MAX_BODY:
            self._answer(413, {"message": f"the body is over {MAX_BODY} bytes"}, close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _health(self, route: Route) -> None:
        try:
            status, _, _ = _call(route.port, "GET", route.path, {}, b"", timeout=5.0)
        except OSError as exc:
            return self._answer(503, {"message": f"the container's readiness route does not answer: {exc}"})
        if status == 200:
            return self._send(200, [("Content-Type", "text/plain; charset=utf-8")], b"Healthy")
        return self._answer(503, {"message": f"the container's readiness route answered {status}"})

    def _forward(self, port: int, target: str, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED}
        try:
            status, reply_headers, reply = _call(port, self.command, target, headers, body, UPSTREAM_TIMEOUT_S)
        except OSError as exc:
            return self._answer(502, {"message": f"the custom container does not answer on port {port}: {exc}"})
        kept = [(k, v) for k, v in reply_headers if k.lower() not in NOT_FORWARDED]
        return self._send(status, kept, reply)

    def _answer(self, status: int, payload: dict[str, str], close: bool = False) -> None:
        self._send(status, [("Content-Type", "application/json")], json.dumps(payload).encode(), close)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, close: bool = False) -> None:
        self.send_response_only(status)  # the container's own Date and Server, when it sent them
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _call(
    port: int, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to the container on this host (its namespace's loopback): status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            method, target, body=body if body or method not in ("GET", "HEAD") else None, headers=headers
        )
        reply = connection.getresponse()
        return reply.status, reply.getheaders(), reply.read()
    except http.client.HTTPException as exc:  # a malformed answer: the container's fault, told as such
        raise OSError(f"malformed answer: {exc!r}") from None
    finally:
        connection.close()


class _Counter:
    """Requests in flight, so that SIGTERM lets them finish before the adapter leaves."""

    def __init__(self) -> None:
        self.count, self.lock = 0, threading.Lock()

    def acquire(self) -> None:
        with self.lock:
            self.count += 1

    def release(self) -> None:
        with self.lock:
            self.count -= 1


class TcpAdapter(ThreadingHTTPServer):
    daemon_threads = True


class UnixAdapter(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(server: Any, upstream: Upstream) -> None:
    """Serve until SIGTERM or SIGINT, then let the requests in flight finish (at most DRAIN_S)."""
    server.upstream, server.requests = upstream, _Counter()

    def leave(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    server.serve_forever(poll_interval=0.2)
    deadline = time.monotonic() + DRAIN_S
    while server.requests.count and time.monotonic() < deadline:
        time.sleep(0.05)
    server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlk.server.nocode.routes", description="The route adapter in front of a custom container."
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", help="HOST:PORT to listen on")
    where.add_argument("--unix", type=Path, help="a Unix socket to listen on (made 0666: its folder guards it)")
    for route in ("scoring", "readiness"):
        parser.add_argument(f"--{route}-port", type=int, required=True)
        parser.add_argument(f"--{route}-path", required=True)
    args = parser.parse_args(argv)
    for route in ("scoring", "readiness"):
        if not getattr(args, f"{route}_path").startswith("/"):
            parser.error(f"--{route}-path must start with / (inference_config.{route}_route.path)")
    upstream = Upstream(
        Route(args.scoring_port, args.scoring_path),
        Route(args.readiness_port, args.readiness_path),
        os.environ.pop(TOKEN_ENV, None) or None,
    )
    server: Any
    if args.unix is not None:
        with contextlib.suppress(FileNotFoundError):
            args.unix.unlink()
        server = UnixAdapter(str(args.unix), Handler)
        args.unix.chmod(0o666)  # the agent may be another user than this container's root
    else:
        host, _, port = str(args.listen).rpartition(":")
        server = TcpAdapter((host or "0.0.0.0", int(port)), Handler)
    print(
        f"mlk route adapter: /score → :{args.scoring_port}{args.scoring_path}, "
        f"GET / → :{args.readiness_port}{args.readiness_path}",
        file=sys.stderr,
        flush=True,
    )
    serve(server, upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
