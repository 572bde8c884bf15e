"""Local environments: an Azure ML environment (image + conda file) → a virtual environment built with uv.

    from mlk.envs import ensure_env
    env = ensure_env(spec.data["environment"], cache_root)   # LocalEnv: env.python runs score.py
    env.reused, env.plan.skipped, env.plan.notes

Layout: `identity` (what an environment is, as a hash) and `conda` with `names` (conda file → pip plan)
are pure; `uv` runs uv; `pythons` finds the interpreter (pyenv's, uv's, PATH's) or has uv fetch it;
`venv` builds and caches. Names are imported on first use, so importing the pure modules does not pull in
subprocess.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlk.envs.conda import PipPlan, pip_plan
    from mlk.envs.identity import environment_identity, identity_of_spec, read_conda
    from mlk.envs.uv import EnvBuildError
    from mlk.envs.venv import LocalEnv, ensure_env

_WHERE = {
    "PipPlan": "conda",
    "pip_plan": "conda",
    "environment_identity": "identity",
    "read_conda": "identity",
    "identity_of_spec": "identity",
    "EnvBuildError": "uv",
    "LocalEnv": "venv",
    "ensure_env": "venv",
}
__all__ = [
    "EnvBuildError",
    "LocalEnv",
    "PipPlan",
    "ensure_env",
    "environment_identity",
    "identity_of_spec",
    "pip_plan",
    "read_conda",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"mlk.envs.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'mlk.envs' has no attribute {name!r}")
