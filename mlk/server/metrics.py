"""The server's Prometheus metrics (GET /metrics), summed over the workers.

With several workers, a scrape lands on whichever worker accepted the connection, yet must speak for
the whole server. Each worker publishes a snapshot of its metrics to a WorkerBoard (shared memory the
master maps before forking: nothing on disk, gone with the processes) once a second, at exit, and when
it answers /metrics; that worker then renders the sum of every worker's latest snapshot. Counters and
histograms are summed as prometheus_client's multiprocess mode sums them; gauges are summed over the
live workers. A replacement worker starts from its predecessor's counts, so counters never go down (a
worker killed outright loses what it counted since its last publication, at most 1 s, which no scrape
had shown).
Since every scrape renders published snapshots only, and each worker's snapshots only grow, two scrapes
answered by different workers never see a counter go back. Requests cost nothing extra: publishing is a
marshal and a memory copy, once a second.
"""

from __future__ import annotations

import logging
import marshal
import mmap
import os
import struct
import zlib

from mlk.http.metrics import Counter, Gauge, Histogram, Registry, Snapshot
from mlk.server.runner import Runner

log = logging.getLogger("azmlinfsrv")


class ServerMetrics:
    def __init__(self, runner: Runner) -> None:
        self.registry = Registry()
        self.requests = self.registry.add(
            Counter("mlk_server_requests_total", "Requests answered, by route and status.", ("route", "status"))
        )
        self.latency = self.registry.add(
            Histogram(
                "mlk_server_request_duration_seconds", "Time from a request's arrival to its response.", ("route",)
            )
        )
        self.registry.add(
            Gauge(
                "mlk_server_in_flight",
                "Scoring requests queued or running in the server's workers.",
                read=lambda: {(): float(runner.queued)},
            )
        )
        self.busy = self.registry.add(
            Counter(
                "mlk_server_admission_refused_total",
                "Router requests refused because this replica was at its concurrency limit.",
            )
        )
        self.run_errors = self.registry.add(
            Counter("mlk_server_run_errors_total", "run() calls that raised an exception.")
        )
        self.registry.add(
            Gauge(
                "mlk_server_stuck_runs",
                "Timed-out run() calls still running on their thread.",
                read=lambda: {(): float(len(runner.stuck))},
            )
        )
        self.board: WorkerBoard | None = None
        self.slot = 0

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, str(status))
        self.requests.values[key] = self.requests.values.get(key, 0.0) + 1
        self.latency.observe((route,), seconds)

    def share(self, board: WorkerBoard, slot: int) -> None:
        """Publish to `board` as worker `slot`, carrying on the counts of the worker this one replaces."""
        self.board, self.slot = board, slot
        previous = board.read(slot)
        if previous:
            self.registry.absorb(previous)
        self.publish()

    def publish(self) -> Snapshot:
        snapshot = self.registry.snapshot()
        if self.board is not None:
            self.board.write(self.slot, snapshot)
        return snapshot

    def render(self) -> bytes:
        """The page for GET /metrics: this worker's values, or all workers' summed when shared."""
        if self.board is None:
            return self.registry.render()
        mine = self.publish()  # first, so that no later scrape, by any worker, sees less than this one
        snapshots = [mine]
        for slot in range(self.board.slots):
            if slot == self.slot:
                continue
            theirs = self.board.read(slot)
            if theirs is None:
                continue
            snapshots.append(theirs if self.board.alive(slot) else self.registry.lasting(theirs))
        return self.registry.render(snapshots)


class WorkerBoard:
    """One slot per worker in an anonymous shared mapping, made by the master before it forks.

    A slot is a header (generation, pid of the live writer or 0) and two buffers: the writer fills the
    buffer the current generation does not point at, then moves the generation, so a reader always finds
    a whole snapshot, and one that dies mid-write leaves the previous snapshot readable. Each buffer
    repeats its generation and carries a CRC of its contents: a reader that raced a writer sees the
    mismatch and reads again. Only one process writes a slot at a time (the master reaps a worker before
    starting its replacement, and marks the slot vacant in between).
    """

    HEADER = struct.Struct("<QQ")  # generation, pid
    BUFFER = struct.Struct("<QII")  # generation, length, crc32
    CAPACITY = 1 << 20
    """Bytes per buffer: a few KiB are used (bounded label sets); pages never touched cost no memory."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.slot_bytes = self.HEADER.size + 2 * (self.BUFFER.size + self.CAPACITY)
        self.memory = mmap.mmap(-1, slots * self.slot_bytes, flags=mmap.MAP_SHARED)
        self.last_good: dict[int, Snapshot] = {}
        self.too_big_logged = False

    def _buffer(self, slot: int, generation: int) -> int:
        return slot * self.slot_bytes + self.HEADER.size + (generation % 2) * (self.BUFFER.size + self.CAPACITY)

    def write(self, slot: int, snapshot: Snapshot) -> None:
        data = marshal.dumps(snapshot)
        if len(data) > self.CAPACITY:
            if not self.too_big_logged:
                log.warning("Metrics snapshot of %s bytes does not fit the workers' board; not shared", len(data))
                self.too_big_logged = True
            return
        base = slot * self.slot_bytes
        generation = self.HEADER.unpack_from(self.memory, base)[0] + 1
        start = self._buffer(slot, generation)
        body = start + self.BUFFER.size
        self.memory[body : body + len(data)] = data
        self.BUFFER.pack_into(self.memory, start, generation, len(data), zlib.crc32(data))
        self.HEADER.pack_into(self.memory, base, generation, os.getpid())

    def read(self, slot: int) -> Snapshot | None:
        """The slot's latest whole snapshot; None when nothing was published there yet."""
        base = slot * self.slot_bytes
        for _attempt in range(20):
            generation = self.HEADER.unpack_from(self.memory, base)[0]
            if generation == 0:
                return None
            start = self._buffer(slot, generation)
            stamped, length, crc = self.BUFFER.unpack_from(self.memory, start)
            if stamped != generation or length > self.CAPACITY:
                continue
            body = start + self.BUFFER.size
            data = self.memory[body : body + length]
            if zlib.crc32(data) != crc or self.HEADER.unpack_from(self.memory, base)[0] != generation:
                continue
            snapshot: Snapshot = marshal.loads(data)
            self.last_good[slot] = snapshot
            return snapshot
        # a writer kept overtaking this reader (it publishes at most once per scrape and once a second)
        return self.last_good.get(slot)

    def alive(self, slot: int) -> bool:
        pid: int = self.HEADER.unpack_from(self.memory, slot * self.slot_bytes)[1]
        return pid != 0

    def vacate(self, slot: int) -> None:
        """The master's note that the slot's worker is gone: its gauges no longer count, its counters do."""
        generation = self.HEADER.unpack_from(self.memory, slot * self.slot_bytes)[0]
        self.HEADER.pack_into(self.memory, slot * self.slot_bytes, generation, 0)
