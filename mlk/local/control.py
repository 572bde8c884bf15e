"""The commands' side of the agent: start it when it is not running, nudge it, wait for what it reports."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from mlk.errors import ExternalError, OperationTimeout
from mlk.lifetime import spawn_detached
from mlk.local import runtime
from mlk.local.supervisor import tail
from mlk.workspace.files import pid_alive, private_dir
from mlk.workspace.home import Workspace

HEARTBEAT_STALE = 8.0
AGENT_ERROR_GRACE = 2.0
"""Seconds an agent's error must last before a waiting command reports it (a passing one is retried)."""


def agent_pid(ws: Workspace) -> int | None:
    """The running agent's pid, judged by its heartbeat."""
    status = runtime.read_status(ws)
    pid = (status.get("agent") or {}).get("pid")
    if pid and pid_alive(pid) and time.time() - status.get("heartbeat", 0) < HEARTBEAT_STALE:
        return int(pid)
    return None


def ensure_agent(ws: Workspace, timeout: float = 20.0) -> int:
    """The agent's pid, starting it first when it is not running (after a reboot, say)."""
    pid = agent_pid(ws)
    if pid:
        return pid
    return start_agent(ws, timeout)


def start_agent(ws: Workspace, timeout: float = 20.0) -> int:
    private_dir(ws.runtime)
    started = time.time()
    spawn_detached([sys.executable, "-m", "mlk.local.agent", str(ws.root)], runtime.agent_log(ws))
    while time.time() - started < timeout:
        status = runtime.read_status(ws)
        pid = (status.get("agent") or {}).get("pid")
        if pid and status.get("heartbeat", 0) >= started and pid_alive(pid):
            return int(pid)
        time.sleep(0.05)
    raise ExternalError("the workspace agent did not start", hint=f"its log says:\n{tail(runtime.agent_log(ws), 15)}")


def poke(ws: Workspace) -> None:
    """Tell the agent the desired state changed (it also notices by itself within 0.2 s)."""
    pid = ensure_agent(ws)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        ensure_agent(ws)


def wait_until(
    ws: Workspace,
    done: Callable[[dict[str, Any]], Any],
    timeout: float,
    what: str,
    on_status: Callable[[dict[str, Any]], None] | None = None,
) -> Any:
    """Poll the agent's report until `done(status)` returns something truthy (which is returned)."""
    deadline = time.monotonic() + timeout
    failing_since: float | None = None
    while True:
        status = runtime.read_status(ws)
        if on_status is not None:
            on_status(status)
        result = done(status)
        if result:
            return result
        error: dict[str, Any] = (status.get("agent") or {}).get("error") or {}
        failing_since = (failing_since or time.monotonic()) if error else None
        if failing_since is not None and time.monotonic() - failing_since >= AGENT_ERROR_GRACE:
            raise ExternalError(
                f"the workspace agent cannot apply the change: {error.get('message')}",
                hint=f"it retries every second; its log ({runtime.agent_log(ws)}) has the details",
            )
        if time.monotonic() > deadline:
            raise OperationTimeout(
                f"timed out after {timeout:.0f} s waiting for {what}",
                hint="mlk online-deployment get-logs shows what the replicas printed",
            )
        if agent_pid(ws) is None:
            ensure_agent(ws)
        time.sleep(0.1)


def reconciled_since(ws: Workspace, moment: float, timeout: float = 10.0) -> None:
    """Wait until the agent has acted on the desired state written at `moment`."""
    wait_until(
        ws,
        lambda s: (s.get("agent") or {}).get("reconciled", 0) >= moment,
        timeout,
        "the workspace agent to apply the change",
    )
