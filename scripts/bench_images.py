"""Benchmark: environment images for the examples' scikit-learn environment, on one base image.

    .venv/bin/python scripts/bench_images.py [--base-image mlk-base/python:3.11-bookworm] [--rounds 1]

1. cold build, fast path (uv into a venv) vs the conda-style pip path (python -m venv + pip), the same
   Dockerfile shape and base, Docker's layer cache off and no package cache: the ratio pip/uv;
2. rebuild of the unchanged environment (goal: 0 s, no build — found by its identity);
3. redeploy after a score.py-only change on the Docker runtime (goal: no image build at all): the time
   `online-deployment update` takes, and whether any image was built.

Needs a Docker engine, the base image (scripts/make-base-image) and, behind a TLS-intercepting proxy,
the host's CA certificates (taken from /usr/local/share/ca-certificates when present).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EXAMPLES = REPO / "examples"
MLK = str(REPO / ".venv/bin/mlk")


def cold_build(base: str, installer: str, ca: bytes | None) -> float:
    import uv

    import mlk
    from mlk.envs.conda import pip_plan
    from mlk.envs.identity import read_conda
    from mlk.images import dockerfile
    from mlk.images.engine import engine

    plan = pip_plan(read_conda({"conda_file": str(EXAMPLES / "environment/conda.yaml")}) or {})
    context = dockerfile.fast(
        base,
        plan.requirements,
        plan.options,
        plan.python,
        runtime=Path(mlk.__file__).parent,
        uv=Path(uv.find_uv_bin()),
        ca=ca,
        installer=installer,  # type: ignore[arg-type]
    )
    tag = f"mlk-bench/{installer}:cold"
    with engine() as docker:
        started = time.perf_counter()
        docker.build(context, tag, nocache=True)
        seconds = time.perf_counter() - started
        docker.client.images.remove(tag, force=True)
    return seconds


def mlk_cli(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([MLK, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mlk {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default="mlk-base/python:3.11-bookworm")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    certs = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    ca = b"".join(c.read_bytes() for c in certs) or None

    uv_times, pip_times = [], []
    for _ in range(args.rounds):  # alternate, so both see the same network and machine load
        uv_times.append(cold_build(args.base_image, "uv", ca))
        pip_times.append(cold_build(args.base_image, "pip", ca))
    fast, slow = statistics.median(uv_times), statistics.median(pip_times)
    print(f"cold build, fast path (uv):       {fast:6.1f} s   {' '.join(f'{t:.1f}' for t in uv_times)}")
    print(f"cold build, pip path (venv + pip): {slow:6.1f} s   {' '.join(f'{t:.1f}' for t in pip_times)}")
    print(f"  ratio pip / uv: {slow / fast:.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        home, app = Path(tmp) / "home", Path(tmp) / "app"
        shutil.copytree(EXAMPLES, app, ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "MLK_HOME": str(home)}
        env.pop("MLK_WORKSPACE", None)
        flags = [a for c in certs for a in ("--ca-cert", str(c))]
        mlk_cli(
            "workspace",
            "update",
            "--local-runtime",
            "docker",
            "--system-base-image",
            args.base_image,
            *flags,
            "-o",
            "none",
            env=env,
            cwd=app,
        )
        image = f"environment.image={args.base_image}"
        mlk_cli("online-endpoint", "create", "-f", "endpoint.yml", "-o", "none", env=env, cwd=app)
        mlk_cli(
            "online-deployment",
            "create",
            "-f",
            "blue.yml",
            "--all-traffic",
            "--set",
            image,
            "-o",
            "none",
            env=env,
            cwd=app,
        )
        from mlk.workspace import builds
        from mlk.workspace.home import open_workspace

        os.environ["MLK_HOME"] = str(home)
        ws = open_workspace("default")
        definition = {"image": args.base_image, "conda_file": str(app / "environment/conda.yaml")}
        started = time.perf_counter()
        result = builds.ensure_image(ws, definition, say=lambda _: None)
        rebuild = time.perf_counter() - started
        print(f"rebuild, unchanged environment:    {rebuild:6.2f} s   (reused: {result.reused})")

        images = json.loads((home / "workspaces/default/images.json").read_text())
        score = app / "onlinescoring/score.py"
        score.write_text(score.read_text() + "\n# a score.py-only change\n")
        started = time.perf_counter()
        mlk_cli("online-deployment", "update", "-f", "blue.yml", "--set", image, "-o", "none", env=env, cwd=app)
        redeploy = time.perf_counter() - started
        after = json.loads((home / "workspaces/default/images.json").read_text())
        built = [k for k, v in after.items() if not v.get("reused") and v.get("at") != images.get(k, {}).get("at")]
        print(f"redeploy after a score.py change:  {redeploy:6.1f} s   (images built: {len(built)})")
        mlk_cli("online-endpoint", "delete", "-n", "my-endpoint", "--yes", env=env, cwd=app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
