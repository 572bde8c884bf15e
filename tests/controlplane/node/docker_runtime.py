"""The node agent's Docker runtime (`--runtime docker`): a pod's containers as Docker containers.

The sandbox is a pause container started with `--network none`; its network namespace gets the pod's
name (`ip netns attach`) and is wired to the bridge like a process-mode pod's. Every container of the pod
then joins it (`--network container:<pause>`), with the pod's volumes bound at their mountPaths, the
environment the kubelet computes (no stand-in image variables: the image's own apply), the user, read-only
root, no capabilities and no privilege escalation that its securityContext asks for, and the image's
entrypoint unless the container gives a command. Images are pulled by the engine (by digest from the
test registry); a pull that fails leaves the container waiting in ImagePullBackOff, as a kubelet does.

Each container runs as an attached `docker run --rm` client, whose exit status is the container's and
whose output is the container's log; signals go to the container with `docker kill`.
"""

from __future__ import annotations

import subprocess
from typing import Any

LABEL = "mlk.dev/test-node-pod"
PULL_FAILED = 125
"""`docker run`'s own exit status: the daemon could not create the container (here: pull the image)."""


def _docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout.strip()


def pause_name(bridge: str, slot: int) -> str:
    return f"mlk-{bridge}-pod{slot}"


def start_pause(bridge: str, slot: int, uid: str, image: str) -> int:
    """The pod's sandbox container; its process id (whose network namespace the pod gets)."""
    name = pause_name(bridge, slot)
    # leftovers of an agent that was killed, in this pod's slot: its sandbox and its containers (named after
    # the sandbox), which would hold the names this pod's containers take
    leftovers = _docker("ps", "-aq", "--filter", f"name=^/{name}(-.*)?$", check=False).split()
    if leftovers:
        _docker("rm", "-f", *leftovers, check=False)
    _docker(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        "--label",
        f"{LABEL}={uid}",
        image,
        "python3",
        "-c",
        "import signal; signal.pause()",
    )
    return int(_docker("inspect", "-f", "{{.State.Pid}}", name))


def remove_leftovers(bridge: str) -> None:
    """Every container of a cluster's pods (named after its bridge) still there once its agent has stopped:
    an agent given too little time to remove them all (a vfs engine removes slowly) leaves none behind."""
    names = _docker("ps", "-aq", "--filter", f"name=^/mlk-{bridge}-pod", check=False).split()
    if names:
        _docker("rm", "-f", *names, check=False)


def remove_pod(uid: str, bridge: str, slot: int) -> None:
    names = _docker("ps", "-aq", "--filter", f"label={LABEL}={uid}", check=False).split()
    if names:
        _docker("rm", "-f", *names, check=False)
    _docker("rm", "-f", pause_name(bridge, slot), check=False)


def run_argv(
    container: dict[str, Any],
    *,
    name: str,
    pause: str,
    uid: str,
    mounts: list[tuple[str, str, bool]],
    env: dict[str, str],
    command: list[str],
    security: dict[str, Any],
) -> list[str]:
    argv = ["docker", "run", "--rm", "--name", name, "--network", f"container:{pause}", "--label", f"{LABEL}={uid}"]
    for source, target, read_only in mounts:
        argv += ["-v", f"{source}:{target}{':ro' if read_only else ''}"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    user, group = security.get("runAsUser"), security.get("runAsGroup")
    if user is not None:
        argv += ["--user", f"{user}:{group if group is not None else user}"]
    if security.get("readOnlyRootFilesystem"):
        argv.append("--read-only")
    if security.get("allowPrivilegeEscalation") is False:
        argv += ["--security-opt", "no-new-privileges"]
    for cap in (security.get("capabilities") or {}).get("drop") or []:
        argv += ["--cap-drop", str(cap)]
    if container.get("workingDir"):
        argv += ["--workdir", str(container["workingDir"])]
    if container.get("command"):
        return [*argv, "--entrypoint", command[0], str(container["image"]), *command[1:]]
    return [*argv, str(container["image"]), *command]  # the image's entrypoint, the container's args


def kill(name: str, signal_name: str) -> None:
    _docker("kill", "--signal", signal_name, name, check=False)
