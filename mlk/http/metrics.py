"""Prometheus metrics without a client library: counters, gauges and histograms with labels, text format.

Updating a metric is a dict lookup and an add (the hot path of every request); rendering happens only
when /metrics is scraped. A registry's values can be taken as a Snapshot (plain dicts and lists, for
marshal) and several processes' snapshots rendered as one: counters and histograms are summed, as
prometheus_client's multiprocess mode does, and so are gauges (whoever merges picks which to include).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

LabelValues = tuple[str, ...]
M = TypeVar("M", bound="Metric")
Series = dict[LabelValues, list[float]]
"""One metric's values by labels: [value] for counters and gauges, [*bucket counts, sum] for histograms."""
Snapshot = dict[str, Series]
"""A registry's values by metric name."""


def _labels(names: tuple[str, ...], values: LabelValues, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> Iterable[str]:
        return self.lines(self.snapshot())

    def snapshot(self) -> Series:
        raise NotImplementedError

    def lines(self, series: Series) -> Iterable[str]:
        for labels, (value,) in sorted(series.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"

    def absorb(self, series: Series) -> None:
        """Add another process's values to this one's (a replaced worker's counts carry on)."""


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        super().__init__(name, help_text, labels)
        self.values: dict[LabelValues, float] = {}

    def inc(self, labels: LabelValues = (), amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def snapshot(self) -> Series:
        return {labels: [value] for labels, value in dict(self.values).items()}  # dict(): atomic under the GIL

    def absorb(self, series: Series) -> None:
        for labels, (value,) in series.items():
            self.inc(labels, value)


class Gauge(Metric):
    kind = "gauge"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: tuple[str, ...] = (),
        read: Callable[[], dict[LabelValues, float]] | None = None,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.values: dict[LabelValues, float] = {}
        self.read = read
        """When given, called at scrape time for the current values (nothing to keep up to date)."""

    def set(self, labels: LabelValues, value: float) -> None:
        self.values[labels] = value

    def add(self, labels: LabelValues, amount: float) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def snapshot(self) -> Series:
        values = self.read() if self.read is not None else dict(self.values)
        return {labels: [value] for labels, value in values.items()}


DEFAULT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = DEFAULT_BUCKETS
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = buckets
        self.counts: dict[LabelValues, list[int]] = {}
        self.sums: dict[LabelValues, float] = {}

    def observe(self, labels: LabelValues, value: float) -> None:
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * (len(self.buckets) + 1)
            self.sums[labels] = 0.0
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[labels] += value

    def snapshot(self) -> Series:
        sums = dict(self.sums)
        return {labels: [*counts, sums.get(labels, 0.0)] for labels, counts in list(self.counts.items())}

    def absorb(self, series: Series) -> None:
        for labels, values in series.items():
            if len(values) != len(self.buckets) + 2:
                continue  # another bucket layout: cannot be added up
            counts = self.counts.get(labels)
            if counts is None:
                counts = self.counts[labels] = [0] * (len(self.buckets) + 1)
                self.sums[labels] = 0.0
            for i, count in enumerate(values[:-1]):
                counts[i] += int(count)
            self.sums[labels] += values[-1]

    def lines(self, series: Series) -> Iterable[str]:
        for labels, values in sorted(series.items()):
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), values[:-1], strict=True):
                running += int(count)
                le = 'le="+Inf"' if bound == float("inf") else f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {float(values[-1])!r}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {running}"


class Registry:
    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    def add(self, metric: M) -> M:
        self.metrics.append(metric)
        return metric

    def render(self, snapshots: Sequence[Snapshot] | None = None) -> bytes:
        """The text format of this registry's live values, or of the sum of `snapshots` (each taken from a
        registry with the same metrics, one per process; a metric a snapshot lacks counts as empty there)."""
        lines: list[str] = []
        for metric in self.metrics:
            lines += metric.header()
            if snapshots is None:
                lines += metric.samples()
            else:
                lines += metric.lines(merge(metric.name, snapshots))
        return ("\n".join(lines) + "\n").encode()

    def snapshot(self) -> Snapshot:
        return {metric.name: metric.snapshot() for metric in self.metrics}

    def lasting(self, snapshot: Snapshot) -> Snapshot:
        """The part of `snapshot` that outlives its process: counters and histograms, not gauges."""
        kept = {m.name for m in self.metrics if not isinstance(m, Gauge)}
        return {name: series for name, series in snapshot.items() if name in kept}

    def absorb(self, snapshot: Snapshot) -> None:
        """Add a finished process's counters and histograms to this registry's (gauges are not carried)."""
        for metric in self.metrics:
            series = snapshot.get(metric.name)
            if series and not isinstance(metric, Gauge):
                metric.absorb(series)


def merge(name: str, snapshots: Sequence[Snapshot]) -> Series:
    """One metric's values summed over snapshots, element by element (bucket counts and sums alike)."""
    total: Series = {}
    for snapshot in snapshots:
        for labels, values in snapshot.get(name, {}).items():
            mine = total.get(labels)
            if mine is None:
                total[labels] = list(values)
            elif len(mine) == len(values):
                for i, value in enumerate(values):
                    mine[i] += value
    return total


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
