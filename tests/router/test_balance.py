"""The router's pure choices."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from mlk.router.balance import Share, SmoothWeighted, least_loaded


def test_smooth_split_is_exact_and_interleaved() -> None:
    split = SmoothWeighted({"blue": 90, "green": 10})
    picks = [split.pick() for _ in range(100)]
    assert picks.count("green") == 10 and picks.count("blue") == 90
    gaps = [i for i, p in enumerate(picks) if p == "green"]
    assert all(b - a == 10 for a, b in itertools.pairwise(gaps))  # spread, not bunched


def test_zero_weights_never_chosen_and_no_weight_means_none() -> None:
    split = SmoothWeighted({"blue": 0, "green": 100})
    assert {split.pick() for _ in range(10)} == {"green"}
    assert SmoothWeighted({"blue": 0}).pick() is None


def test_share_is_an_exact_percentage() -> None:
    share = Share(20)
    assert sum(share.take() for _ in range(100)) == 20


@dataclass
class R:
    in_flight: int = 0
    healthy: bool = True


def test_least_loaded_prefers_idle_and_rotates_ties() -> None:
    replicas = [R(1), R(0), R(0)]
    assert least_loaded(replicas, 0, 4) == 1
    assert least_loaded(replicas, 2, 4) == 2  # tie: the scan starts where the last choice left off
    assert least_loaded([R(1), R(1)], 0, 1) is None  # all at max concurrency
    assert least_loaded([R(0, healthy=False), R(3)], 0, 4) == 1


def test_a_waiter_that_avoids_a_failed_replica_gets_another_and_keeps_its_place() -> None:
    import asyncio

    from mlk.router.config import DeploymentConfig, RequestSettings
    from mlk.router.state import Deployment, Replica

    loop = asyncio.new_event_loop()
    try:
        failed, other = Replica("http://127.0.0.1:1"), Replica("http://127.0.0.1:2")
        settings = RequestSettings(max_concurrent_requests_per_instance=1)
        config = DeploymentConfig("blue", (failed.url, other.url), settings)
        deployment = Deployment("ep", config, {failed.url: failed, other.url: other})
        assert deployment.try_acquire() is failed and deployment.try_acquire() is other  # both busy
        retried = deployment.enqueue(loop, avoid=failed)
        plain = deployment.enqueue(loop)
        deployment.release(failed)  # the failed replica's slot: not for the retried request
        assert not retried.done() and plain.result() is failed
        deployment.release(other)
        assert retried.result() is other
        other.healthy = False  # no other replica in rotation: the failed one is better than none
        lone = deployment.enqueue(loop, avoid=failed)
        deployment.release(failed)
        assert lone.result() is failed
    finally:
        loop.close()
