"""One container as a local process: the pod's network namespace, a mount namespace of its own with the
pod's volumes bound at their mountPaths, its command, args and environment as a kubelet computes them.

What an image would give is this machine's: the process runs on the host's root filesystem with the
test's Python first on PATH (MLK_PYTHON set, as mlk's images set it), so `python -m mlk.operator`,
`python -m mlk.storage.initializer` and the inference server's start script run mlk from this checkout.
The image name itself is not used (the README says so). A readOnlyRootFilesystem container gets / read
only inside its mount namespace, so a server that writes outside its volumes fails here as in a cluster.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.controlplane.cluster import LIBC, PR_SET_PDEATHSIG
from tests.controlplane.node import docker_runtime
from tests.controlplane.node.api import Api
from tests.controlplane.node.volumes import VolumeError, field_value, source_data

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KEEP = (Path(__file__).resolve().parents[3], Path(sys.prefix), Path(sys.base_prefix))
"""What stands in for every image: this checkout (mlk), its virtual environment and the Python under it."""
HOLD = "/run/mlk-node-hold"
"""Where a container's mount namespace holds KEEP paths while volumes are mounted over their parents."""


@dataclass(frozen=True)
class PodContext:
    """What every container of a pod shares: where the API server is, the pod's addresses and volumes."""

    pod: dict[str, Any]
    netns: Path
    volumes: dict[str, Path]
    api_host: str
    api_port: int
    pause: str | None = None
    """The pause container's name under the Docker runtime; None: containers are local processes."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command, args and env values ($$ is a literal $)."""
    return _VAR.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def environment(api: Api, ctx: PodContext, container: dict[str, Any]) -> dict[str, str]:
    """What the kubelet sets, then the container's own; under the process runtime first what the stand-in
    image would (PATH to this checkout's Python, MLK_PYTHON)."""
    namespace = ctx.pod["metadata"]["namespace"]
    standin = {"PATH": f"{Path(sys.executable).parent}:{IMAGE_PATH}", "MLK_PYTHON": sys.executable, "HOME": "/root"}
    env = {
        **(standin if ctx.pause is None else {}),
        "HOSTNAME": ctx.pod["metadata"]["name"],
        "KUBERNETES_SERVICE_HOST": ctx.api_host,
        "KUBERNETES_SERVICE_PORT": str(ctx.api_port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(ctx.api_port),
        "KUBERNETES_PORT": f"tcp://{ctx.api_host}:{ctx.api_port}",
    }

    def lookup(kind: str, name: str, key: str | None, optional: bool) -> dict[str, str]:
        data = source_data(api, namespace, kind, name, optional)
        if key is not None and key not in data and not optional:
            raise VolumeError(f"couldn't find key {key} in {kind[:-1]} {namespace}/{name}")
        return {k: v.decode(errors="replace") for k, v in data.items()}

    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, field in (("secrets", "secretRef"), ("configmaps", "configMapRef")):
            if field in source:
                ref = source[field]
                env.update(
                    {prefix + k: v for k, v in lookup(kind, ref["name"], None, bool(ref.get("optional"))).items()}
                )
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)
            continue
        ref = item.get("valueFrom") or {}
        if "secretKeyRef" in ref or "configMapKeyRef" in ref:
            kind, field = ("secrets", "secretKeyRef") if "secretKeyRef" in ref else ("configmaps", "configMapKeyRef")
            spec = ref[field]
            value = lookup(kind, spec["name"], spec["key"], bool(spec.get("optional"))).get(spec["key"])
            if value is not None:
                env[item["name"]] = value
        elif "fieldRef" in ref:
            env[item["name"]] = field_value(ctx.pod, ref["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in ref:
            resource = ref["resourceFieldRef"]["resource"]
            section, _, name = resource.partition(".")
            env[item["name"]] = str(((container.get("resources") or {}).get(section) or {}).get(name, "0"))
        else:
            env.setdefault(item["name"], "")
    return env


def argv(container: dict[str, Any], env: dict[str, str], *, image_entrypoint: bool = False) -> list[str]:
    command = [*(container.get("command") or []), *(container.get("args") or [])]
    if not container.get("command") and not image_entrypoint:
        raise VolumeError(
            f"container {container['name']}: the test node agent runs commands as local processes and cannot "
            "read an image's entrypoint: give the container a command"
        )
    return [expand(str(a), env) for a in command]


def _mount_script(ctx: PodContext, container: dict[str, Any]) -> str:
    """Mount points, then the binds, then the root's flags (read only stays on the root alone)."""
    lines = ["set -e", "mount --make-rprivate /", f"hostname {shlex.quote(ctx.pod['metadata']['name'][:63])}"]
    binds: list[tuple[Path, str, bool]] = []
    for mount in container.get("volumeMounts") or []:
        source = ctx.volumes[mount["name"]]
        if mount.get("subPath"):
            source = source / mount["subPath"]
            if not source.exists():
                source.mkdir(parents=True)
        target = shlex.quote(mount["mountPath"])
        if source.is_dir():
            lines.append(f"mkdir -p {target}")
        else:
            lines.append(f'mkdir -p "$(dirname {target})" && touch {target}')
        binds.append((source, mount["mountPath"], bool(mount.get("readOnly"))))

    def shadows(target: str) -> bool:  # a mount over /tmp would hide sources that live under /tmp: bind it last
        return any(str(source).startswith(target.rstrip("/") + "/") for source, _, _ in binds)

    bind_lines: list[str] = []
    for source, target, read_only in sorted(binds, key=lambda b: shadows(b[1])):
        bind_lines.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        if read_only:
            bind_lines.append(f"mount -o remount,bind,ro {shlex.quote(target)}")
    working = container.get("workingDir")
    if working:
        lines.append(f"mkdir -p {shlex.quote(working)}")
    # The "image" is this checkout and its virtual environment: a volume mounted over one of its parents
    # (an emptyDir at /tmp, with the checkout under /tmp) must not hide it. Hold it aside, bind it back after.
    targets = [t for _, t, _ in binds]
    kept = [p for p in KEEP if any(str(p).startswith(t.rstrip("/") + "/") for t in targets)]
    for n, path in enumerate(kept):
        lines.append(f"mkdir -p {HOLD}/{n} && mount --bind {shlex.quote(str(path))} {HOLD}/{n}")
    lines += bind_lines  # before the root turns read only: a bind keeps the flags of the mount it comes from
    for n, path in enumerate(kept):
        lines.append(f"mkdir -p {shlex.quote(str(path))} && mount --bind {HOLD}/{n} {shlex.quote(str(path))}")
    if (container.get("securityContext") or {}).get("readOnlyRootFilesystem"):
        lines.append("mount -o remount,bind,ro /")
    if working:
        lines.append(f"cd {shlex.quote(working)}")
    lines.append('exec "$@"')
    return "; ".join(lines)


def _mounts(ctx: PodContext, container: dict[str, Any]) -> list[tuple[str, str, bool]]:
    out = []
    for mount in container.get("volumeMounts") or []:
        source = ctx.volumes[mount["name"]]
        if mount.get("subPath"):
            source = source / mount["subPath"]
            source.mkdir(parents=True, exist_ok=True)
        out.append((str(source), str(mount["mountPath"]), bool(mount.get("readOnly"))))
    return out


def start(
    ctx: PodContext, container: dict[str, Any], env: dict[str, str], log: Path, name: str
) -> subprocess.Popen[bytes]:
    """The container's process, in its own process group (so a stop reaches what it started); under the
    Docker runtime the attached `docker run` client of container `name`."""
    if ctx.pause is not None:
        pod_security = ctx.pod["spec"].get("securityContext") or {}
        security = {**pod_security, **(container.get("securityContext") or {})}
        wrapper = docker_runtime.run_argv(
            container,
            name=name,
            pause=ctx.pause,
            uid=ctx.pod["metadata"]["uid"],
            mounts=_mounts(ctx, container),
            env=env,
            command=argv(container, env, image_entrypoint=True),
            security=security,
        )
        return _spawn(wrapper, env, log)
    command = argv(container, env)
    wrapper = [
        "nsenter",
        f"--net={ctx.netns}",
        "--",
        "unshare",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        _mount_script(ctx, container),
        container["name"],
        *command,
    ]
    return _spawn(wrapper, env, log)


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ) if argv[0] == "docker" else env,  # docker's client: the -e flags carry it
            preexec_fn=_own_group_and_die_with_agent,  # noqa: PLW1509 - two system calls
        )


def _own_group_and_die_with_agent() -> None:
    """Its own process group (a stop reaches all it started) and SIGKILL when the agent goes."""
    os.setsid()
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals, docker_name: str | None = None) -> None:
    """To the container: its process group, or under the Docker runtime the container itself."""
    if docker_name is not None:
        docker_runtime.kill(docker_name, sig.name)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
