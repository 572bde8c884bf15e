"""The workspace agent: one background process per workspace running the router and the replicas.

`python -m mlk.local.agent WORKSPACE_DIR`. It owns runtime/agent.lock for its lifetime (so there is never
a second one), watches state.json (and SIGHUP) for what the commands want, makes it so with the
supervisor, keeps the router's configuration in step with the replicas that are ready, and reports in
runtime/status.json. When the workspace has no endpoint left it exits; any command that needs it starts
it again — which is also how endpoints come back after a reboot.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mlk.http import HttpServer, Limits, bind, new_event_loop
from mlk.http.logbuffer import configure_logging
from mlk.http.serve import raise_fd_limit
from mlk.local import logfiles, plans, runtime
from mlk.local.supervisor import Proc, Supervisor, kill_leftovers
from mlk.router.config import RouterConfig
from mlk.router.proxy import ClientProtocol
from mlk.router.service import Router
from mlk.workspace import records
from mlk.workspace import state as desired
from mlk.workspace.files import open_private, private_dir, read_json
from mlk.workspace.home import Workspace
from mlk.workspace.records import State

log = logging.getLogger("mlk.agent")
POLL = 0.2
IDLE_EXIT = 5.0
RETRY = 1.0
"""Seconds between tries when the desired state cannot be applied."""


class Agent:
    def __init__(self, ws: Workspace, loop: asyncio.AbstractEventLoop) -> None:
        self.ws = ws
        self.loop = loop
        self.supervisor = Supervisor(runtime.mlk_lib(), self.changed, ws.name, runtime.replica_groups(ws))
        self.router = Router(loop, RouterConfig(), peer_token=self.supervisor.token)
        self.error: dict[str, Any] | None = None
        """The desired state could not be applied: what went wrong and since when (commands report it)."""
        self.dirty = asyncio.Event()
        self.poked = asyncio.Event()
        self.stopping = asyncio.Event()
        self.state: State = records.empty()
        self.retiring: set[int] = set()
        self.reconciled = 0.0
        """When the desired state was last read and applied (commands wait for it)."""

    def changed(self) -> None:
        """A replica changed state: reconcile soon (the router's replicas, retirements, the report)."""
        self.dirty.set()
        self.poked.set()

    async def run(self) -> None:
        sock = await self._listen()
        limits = Limits()
        server = HttpServer(limits=limits, factory=lambda conns: ClientProtocol(self.router, limits, conns))
        await server.start(sock)
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGHUP, self.poked.set)
        tasks = [
            self.loop.create_task(coroutine, name=name)
            for name, coroutine in (
                ("state watcher", self._watch_state()),
                ("heartbeat", self._report()),
                ("timeout sweep", self.router.sweep_timeouts()),
            )
        ]
        for task in tasks:
            task.add_done_callback(self._task_ended)
        log.info("agent for workspace '%s' serving endpoints at http://127.0.0.1:%s", self.ws.name, self.ws.router_port)
        await self.stopping.wait()
        log.info("stopping: draining requests and replicas")
        await server.shutdown(10.0)
        await self.supervisor.stop([p for procs in self.supervisor.procs.values() for p in procs])
        for task in tasks:
            task.cancel()
        self.router.access.flush()
        self._write_status()

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        """A task of the agent's own must not end while it runs (a heartbeat without a watcher behind it
        would be a lie): log why and stop the agent; the next command starts a new one."""
        if task.cancelled() or self.stopping.is_set():
            return
        log.error("the agent's %s ended unexpectedly: stopping", task.get_name(), exc_info=task.exception())
        self.stopping.set()

    async def _listen(self) -> Any:
        deadline = time.monotonic() + 15
        while True:
            try:
                return bind("127.0.0.1", self.ws.router_port)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)  # a previous agent may still be letting go of the port

    async def _watch_state(self) -> None:
        signature = None
        idle_since: float | None = None
        while not self.stopping.is_set():
            try:
                stat = self.ws.state_file.stat()
                current = (stat.st_mtime_ns, stat.st_size)
            except FileNotFoundError:
                current = None
            if current != signature or self.poked.is_set() or self.dirty.is_set() or self.error:
                self.poked.clear()
                signature = current
                try:
                    await self._reconcile()
                except Exception as exc:  # e.g. state.json unreadable for a moment: say so, try again
                    self._failed(exc)
                    await asyncio.sleep(RETRY)
                    continue
            if not self.state["endpoints"] and not self.supervisor.procs:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > IDLE_EXIT:
                    log.info("no endpoint left in the workspace: the agent exits")
                    self.stopping.set()
            else:
                idle_since = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.poked.wait(), POLL)

    def _failed(self, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if self.error is None or self.error["message"] != message:
            log.error("cannot apply the workspace's desired state (retrying every %.0f s)", RETRY, exc_info=exc)
            self.error = {"message": message, "since": time.time()}
        self._write_status()

    async def _reconcile(self) -> None:
        self.dirty.clear()
        started = time.time()
        self.state = desired.load(self.ws)
        if self.error is not None:
            log.info("the desired state reads again: applying it")
            self.error = None
        retire = self.supervisor.apply(plans.replica_plans(self.ws, self.state))
        self.router.reload(plans.router_config(self.ws, self.state, self.supervisor))
        fresh = [p for p in retire if id(p) not in self.retiring]
        if fresh:
            self.retiring.update(id(p) for p in fresh)
            self.loop.create_task(self._retire(fresh))
        self.reconciled = started
        self._write_status()

    async def _retire(self, procs: list[Proc]) -> None:
        """Out of the router first, let requests in flight finish, then stop the processes."""
        urls = {p.url for p in procs}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            r.in_flight for d in self.router.state.deployments() for r in d.replicas if r.url in urls
        ):
            await asyncio.sleep(0.05)
        await self.supervisor.stop(procs)
        self.retiring.difference_update(id(p) for p in procs)
        self.changed()

    async def _report(self) -> None:
        """A heartbeat: commands tell a live agent from a dead one by it."""
        while not self.stopping.is_set():
            self._write_status()
            logfiles.rotate_own_output(runtime.agent_log(self.ws))
            await asyncio.sleep(2.0)

    def _write_status(self) -> None:
        runtime.write_status(
            self.ws,
            {
                "agent": {
                    "pid": os.getpid(),
                    "router_port": self.ws.router_port,
                    "reconciled": self.reconciled,
                    "error": self.error,
                },
                "deployments": self.supervisor.report(),
            },
        )


def main(root: str) -> int:
    path = Path(root)
    ws = Workspace(path.name, path, read_json(path / "workspace.json", {}))
    private_dir(ws.runtime)
    lock = open_private(ws.runtime / "agent.lock", append=False)  # held for the whole life of the process
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another agent runs this workspace
    configure_logging("mlk")
    raise_fd_limit()
    killed = kill_leftovers(runtime.replica_groups(ws))
    if killed:
        logging.getLogger("mlk.agent").warning("stopped %d replica(s) an earlier agent left running", killed)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(Agent(ws, loop).run())
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
