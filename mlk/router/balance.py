"""Pure choices: which deployment gets a request (traffic split), whether to mirror it, which replica.

Traffic uses smooth weighted round robin (nginx's): over any window of 100 requests a 90/10 split sends
exactly 90 and 10, interleaved, with no randomness. Mirroring uses the same error-diffusion idea for one
percentage. Replicas: the least loaded, ties broken in turn, so an idle deployment still spreads requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class SmoothWeighted:
    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = {name: w for name, w in weights.items() if w > 0}
        self.total = sum(self.weights.values())
        self.current = dict.fromkeys(self.weights, 0)

    def pick(self) -> str | None:
        if not self.total:
            return None
        best = None
        for name, weight in self.weights.items():
            self.current[name] += weight
            if best is None or self.current[name] > self.current[best]:
                best = name
        assert best is not None
        self.current[best] -= self.total
        return best


class Share:
    """Says yes to `percent` of calls, evenly spread (no randomness)."""

    def __init__(self, percent: int) -> None:
        self.percent = percent
        self.credit = 0

    def take(self) -> bool:
        self.credit += self.percent
        if self.credit >= 100:
            self.credit -= 100
            return True
        return False


class Loaded(Protocol):
    in_flight: int
    healthy: bool


def least_loaded(replicas: Sequence[Loaded], start: int, limit: int) -> int | None:
    """Index of the healthy replica with the fewest requests in flight (below `limit`), scanning from `start`."""
    best, best_load = None, limit
    count = len(replicas)
    for step in range(count):
        index = (start + step) % count
        replica = replicas[index]
        if replica.healthy and replica.in_flight < best_load:
            best, best_load = index, replica.in_flight
            if best_load == 0:
                break
    return best
