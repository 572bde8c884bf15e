"""Where a job's outputs are recorded in the workspace's storage, for every runner (this machine, a pod).

An output is a content-addressed tree (mlk.storage.cas); its manifest digest is written, last, at
`output_key`, so a runner that died half-way leaves no output rather than a partial one.
"""

from __future__ import annotations

from mlk.storage.base import check_key

JOBS_PREFIX = "jobs"


def output_key(job: str, output: str) -> str:
    """The key holding output `output` of job `job`'s manifest digest (as text)."""
    return check_key(f"{JOBS_PREFIX}/{job}/outputs/{output}.digest")
