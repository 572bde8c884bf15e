"""The job controller's copy of a run's metrics stays bounded whatever a script logs, and a job is followed
until its run is closed (a job the CLI canceled included)."""

from __future__ import annotations

from mlk.operator.jobs import _active
from mlk.operator.tracking import MAX_KEYS, MAX_VALUE, _bounded


def test_metrics_copied_into_the_status_are_capped() -> None:
    logged = {f"loss_{n:04d}": float(n) for n in range(MAX_KEYS + 50)}
    logged["a" * 2000] = 1.0
    logged["not-a-number"] = "nan?"  # type: ignore[assignment]
    kept = _bounded(logged, float)
    assert len(kept) <= MAX_KEYS
    assert all(len(k) <= MAX_VALUE and isinstance(v, float) for k, v in kept.items())
    assert "not-a-number" not in kept


def test_params_are_strings_cut_to_size() -> None:
    kept = _bounded({"layers": 3, "note": "x" * 5000}, str)
    assert kept == {"layers": "3", "note": "x" * MAX_VALUE}


def test_a_job_is_followed_until_its_run_is_closed() -> None:
    assert _active({"status": "Running"})
    assert not _active({"status": "Completed"})
    assert _active({"status": "Canceled", "run_id": "r1"})  # canceled by the CLI: the run is still open
    assert not _active({"status": "Canceled", "run_id": "r1", "run_ended": True})
