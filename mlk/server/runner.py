"""Where run() executes: dedicated threads fed from the event loop, never more at once than allowed.

score.py globals are not thread-safe, so by default one thread calls run() and requests queue (FIFO) in
front of it while the event loop keeps accepting. Results come back to the loop in batches: a thread
wakes the loop only when it was not already woken, so a busy server pays one wake-up per batch rather
than one per request.

A run() that exceeds the scoring timeout is abandoned: its caller gets the timeout, a fresh thread takes
over the queue, and TimeoutError is raised inside the old call at its next Python instruction (azmlinfsrv
interrupts run() the same way, with SIGALRM, which only works on the main thread). A call stuck inside C
code keeps its thread until it returns; its result is dropped. Too many of those still alive and the
process reports itself `exhausted`, to be replaced.
"""

from __future__ import annotations

import asyncio
import ctypes
import queue
import threading
from collections.abc import Callable
from typing import Any

Job = Callable[[], Any]
_STOP = object()
MAX_ABANDONED = 4


class _Lane:
    """One thread and its queue."""

    def __init__(self, runner: Runner, name: str, jobs: queue.SimpleQueue[Any] | None = None) -> None:
        self.runner = runner
        self.jobs: queue.SimpleQueue[Any] = jobs if jobs is not None else queue.SimpleQueue()
        self.current: tuple[asyncio.Future[Any], Job] | None = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        try:
            while not self.abandoned:
                item = self.jobs.get()
                if item is _STOP:
                    return
                future, job = item
                if future.cancelled():
                    continue
                self.current = (future, job)
                try:
                    outcome: tuple[bool, Any] = (True, job())
                except BaseException as exc:  # delivered to the awaiting request, not raised here
                    outcome = (False, exc)
                self.current = None
                if not self.abandoned:
                    self.runner.deliver(future, outcome)
        except BaseException:  # an interrupt meant for an abandoned run() that had already returned
            if not self.abandoned:
                raise

    def interrupt(self) -> None:
        """Raise TimeoutError inside the running job at its next Python instruction (C calls finish first)."""
        ident = self.thread.ident
        if ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(TimeoutError))


class Runner:
    """Runs jobs on `concurrency` threads, results awaited on the event loop that created the Runner."""

    def __init__(self, loop: asyncio.AbstractEventLoop, concurrency: int = 1) -> None:
        self.loop = loop
        self.concurrency = concurrency
        self.lanes = [_Lane(self, f"mlk-run-{i}") for i in range(concurrency)]
        self._next = 0
        self._done: list[tuple[asyncio.Future[Any], tuple[bool, Any]]] = []
        self._lock = threading.Lock()
        self._woken = False
        self.abandoned = 0
        self.stuck: list[_Lane] = []
        self.queued = 0
        """Jobs submitted and not yet finished (the queue depth plus the ones running)."""

    @property
    def exhausted(self) -> bool:
        """Too many abandoned run() calls still running: the process should be replaced."""
        self.stuck = [lane for lane in self.stuck if lane.thread.is_alive()]
        return len(self.stuck) >= MAX_ABANDONED

    def running(self) -> list[tuple[asyncio.Future[Any], Job]]:
        return [lane.current for lane in self.lanes if lane.current is not None]

    def submit(self, job: Job) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        lane = self.lanes[self._next]
        self._next = (self._next + 1) % self.concurrency
        self.queued += 1
        lane.jobs.put((future, job))
        return future

    def deliver(self, future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
        """Called on a run thread."""
        with self._lock:
            self._done.append((future, outcome))
            wake, self._woken = not self._woken, True
        if wake:
            self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:
            done, self._done, self._woken = self._done, [], False
        for future, (ok, value) in done:
            self.queued -= 1
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def abandon(self, future: asyncio.Future[Any]) -> bool:
        """`future` timed out: if its job is running, give its lane's queue to a fresh thread."""
        for index, lane in enumerate(self.lanes):
            if lane.current is not None and lane.current[0] is future:
                lane.abandoned = True
                self.abandoned += 1
                self.queued -= 1
                self.stuck.append(lane)
                self.lanes[index] = _Lane(self, f"mlk-run-{index}-{self.abandoned}", lane.jobs)
                lane.interrupt()
                return True
        if not future.done():  # still queued: cancelling it makes its lane skip it
            future.cancel()
            self.queued -= 1
        return False

    def close(self) -> None:
        for lane in self.lanes:
            lane.jobs.put(_STOP)
