"""What a build printed, kept short: the current step, the last lines, and on failure a message a user can
act on (the failing step, its last lines, a hint). Pure: fed the Docker engine's JSON messages."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
TAIL = 25
# (pattern in the output, hint): the first that matches explains the failure.
HINTS = (
    (
        re.compile(
            r"CERTIFICATE_VERIFY_FAILED|invalid peer certificate|UnknownIssuer|self[- ]signed certificate", re.I
        ),
        "TLS to the package index is intercepted by a proxy this build does not trust: give its CA with "
        "mlk environment build --ca-cert FILE (this build), or mlk workspace update --ca-cert FILE (every build)",
    ),
    (
        re.compile(
            r"not found in the package registry|No matching distribution|Could not find a version|"
            r"PackagesNotFoundError|was not found in the package",
            re.I,
        ),
        "a package or version does not exist under that name: check its PyPI name (conda names differ: "
        "pytorch is torch) and pin a version that exists",
    ),
    (
        re.compile(r"No solution found|ResolutionImpossible|conflicting dependencies|incompatible", re.I),
        "the packages' versions conflict: relax or pin them so that one set satisfies all (the lines above name them)",
    ),
    (
        re.compile(r"Python 3\.11 or newer|No interpreter found|python3?\.\d+: not found", re.I),
        "the base image has no suitable Python: mlk's server needs 3.11 or newer (set python=3.11 in the "
        "conda file and use a base image that has it)",
    ),
    (
        re.compile(r"conda: (command )?not found", re.I),
        "the base image has no conda: use the fast builder (--builder fast) or a base image with conda",
    ),
    (
        re.compile(r"Temporary failure in name resolution|Network is unreachable|Could not connect|timed out", re.I),
        "the build cannot reach the package index: check the network or proxy (builds run with the host's network)",
    ),
)


class BuildLog:
    def __init__(self) -> None:
        self.step = ""
        self.steps = 0
        self.index = 0
        self.lines: deque[str] = deque(maxlen=TAIL)
        self.step_lines: deque[str] = deque(maxlen=TAIL)
        self.error: str | None = None
        self.image_id: str | None = None

    def feed(self, message: Mapping[str, Any]) -> list[str]:
        """Take one decoded message; return the new lines of output (for a live view)."""
        if "error" in message or "errorDetail" in message:
            detail = message.get("errorDetail") or {}
            self.error = str(detail.get("message") or message.get("error") or "build failed")
            return [self.error]
        aux = message.get("aux")
        if isinstance(aux, Mapping) and aux.get("ID"):
            self.image_id = str(aux["ID"])
        text = _ANSI.sub("", str(message.get("stream") or ""))
        new = []
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line:
                continue
            found = _STEP.match(line)
            if found:
                self.index, self.steps, self.step = int(found[1]), int(found[2]), found[3]
                self.step_lines.clear()
            elif not line.startswith((" ---> ", "Removing intermediate container")):
                self.step_lines.append(line)
            self.lines.append(line)
            new.append(line)
        return new

    def failure(self) -> tuple[str, str]:
        """(message, hint) for a failed build: the step that failed and what it printed last."""
        step = f"step {self.index}/{self.steps} ({_short(self.step)})" if self.step else "the build"
        output = "\n".join(self.step_lines) or "\n".join(self.lines)
        message = f"{step} failed: {self.error or 'unknown error'}"
        hint = next((h for pattern, h in HINTS if pattern.search(output) or pattern.search(self.error or "")), None)
        tail = f"its last lines:\n{output}" if output else ""
        return message, "\n".join(p for p in (tail, f"hint: {hint}" if hint else "") if p)


def _short(step: str, width: int = 90) -> str:
    return step if len(step) <= width else step[: width - 1] + "…"
