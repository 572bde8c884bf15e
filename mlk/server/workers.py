"""Processes: a master that owns the listening socket and WORKER_COUNT forked workers that serve on it.

The master imports nothing of the user's: each worker imports score.py and runs init() itself, after
the fork, so libraries such as CUDA are initialised in the process that uses them. The kernel spreads
connections over the workers accepting on the shared socket. A worker that fails to start (exit 3)
stops the server with exit 3, as azmlinfsrv does; one that dies later is replaced. SIGTERM/SIGINT drain
every worker (in-flight requests finish) and the master exits 0. With several workers, the master maps a
WorkerBoard before forking, where each worker publishes its metrics so that /metrics covers them all
(see mlk.server.metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time

from mlk.errors import EXIT_BOOT_FAILED
from mlk.lifetime import die_with_parent
from mlk.server.metrics import WorkerBoard
from mlk.server.settings import ServerSettings

log = logging.getLogger("azmlinfsrv")
EXIT_REPLACE_ME = 4
DRAIN_SECONDS = 30.0


def worker(settings: ServerSettings, sock: socket.socket, board: WorkerBoard | None = None, index: int = 0) -> int:
    """Load the script, run init(), serve until told to stop; returns the process's exit code."""
    from mlk.server.script import ScriptError, load

    try:
        script = load(settings)
        script.call_init()
    except ScriptError as exc:
        log.error("%s", exc, exc_info=exc.__cause__ or exc)
        return EXIT_BOOT_FAILED
    except BaseException:
        log.exception("User's init function failed")
        return EXIT_BOOT_FAILED
    from mlk.http import HttpServer, new_event_loop
    from mlk.server.app import ScoringApp

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    app = ScoringApp(script, settings, loop)
    if board is not None:
        app.metrics.share(board, index)
    server = HttpServer(app, settings.limits(), observer=app.observe)
    code = loop.run_until_complete(_serve(app, server, sock))
    app.close()
    return code


async def _serve(app: object, server: object, sock: socket.socket) -> int:
    from mlk.http import HttpServer
    from mlk.server.app import ScoringApp

    assert isinstance(app, ScoringApp) and isinstance(server, HttpServer)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.start(sock)
    watchdog = loop.create_task(app.watch_timeouts())
    log.info("Scoring timeout is set to %s", app.settings.scoring_timeout_ms)
    log.info("Worker with pid %s ready for serving traffic", os.getpid())
    code = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        if app.metrics.board is not None:
            app.metrics.publish()
        if app.runner.exhausted:
            log.error("Too many run() calls are stuck past the scoring timeout; this worker will be replaced")
            code = EXIT_REPLACE_ME
            break
    app.ready = False
    await server.shutdown(DRAIN_SECONDS)
    watchdog.cancel()
    if app.metrics.board is not None:
        app.metrics.publish()  # the drained requests' counts, for the workers that stay and a replacement
    return code


class Master:
    def __init__(self, settings: ServerSettings, sock: socket.socket) -> None:
        self.settings = settings
        self.sock = sock
        self.children: dict[int, int] = {}  # pid → worker index
        self.stopping = False
        self.board = WorkerBoard(settings.worker_count) if settings.worker_count > 1 else None

    def _spawn(self, index: int) -> None:
        master = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            die_with_parent(signal.SIGKILL, master)  # a master killed outright takes its workers along
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = worker(self.settings, self.sock, self.board, index)
            finally:
                logging.shutdown()
                sys.stdout.flush()
                os._exit(code)
        self.children[pid] = index
        log.info("Booting worker with pid: %s", pid)

    def _stop(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            log.info("Handling signal: %s", signal.Signals(signum).name.removeprefix("SIG").lower())
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for index in range(self.settings.worker_count):
            self._spawn(index)
        exit_code = 0
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            index = self.children.pop(pid)
            if self.board is not None:
                self.board.vacate(index)
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                continue
            if code == EXIT_BOOT_FAILED:
                log.error("Worker (pid:%s) exited with code 3. Reason: Worker failed to boot.", pid)
                exit_code = EXIT_BOOT_FAILED
                self.stopping = True
                self._stop(signal.SIGTERM, None)
                continue
            log.warning("Worker (pid:%s) exited with code %s; starting a new one", pid, code)
            time.sleep(0.1)
            self._spawn(index)
        log.info("Shutting down: Master")
        return exit_code
