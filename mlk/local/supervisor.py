"""Replicas of local deployments — `python -m mlk.server` processes, or containers on the Docker runtime
(mlk.local.containers): started, watched, restarted.

A replica is ready when GET / answers 200 (init() has run). A replica that exits is restarted with
backoff (1 s doubling to 30 s, back to 1 s after a minute ready), as Kubernetes restarts a container;
one that exits with 3 (its score.py cannot start) marks its deployment Failed with the last lines of its
log, so `create` can show the real traceback instead of a timeout. An update starts the new replicas
first and stops the old ones only once the new ones are ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlk.errors import EXIT_BOOT_FAILED
from mlk.http import peer
from mlk.http.serve import bind
from mlk.lifetime import die_with_parent, kill_group, start_time
from mlk.local import logfiles
from mlk.router.service import probe
from mlk.router.state import Replica as RouterReplica
from mlk.workspace.files import private_dir, read_json, write_json

log = logging.getLogger("mlk.agent")
BACKOFF_MAX = 30.0
BACKOFF_RESET = 60.0
"""A replica ready this long before it exited restarts after 1 s again (the kubelet: 10 min, for back-off
ten times longer than these)."""
LOG_TAIL = 40
INHERITED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "LD_LIBRARY_PATH",
        "CUDA_VISIBLE_DEVICES",
        "NVIDIA_VISIBLE_DEVICES",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
"""The agent's variables a replica also gets (and LC_*): a process's basics, the GPUs it may use."""


@dataclass(frozen=True)
class Plan:
    """What one deployment's replicas run (from the desired state)."""

    key: str
    generation: int
    instances: int
    python: str
    code_dir: str
    scoring_script: str
    model_dir: str
    env: dict[str, str]
    log_dir: str
    container: dict[str, Any] | None = None
    """The Docker runtime's replica (mlk.local.containers): images, assets, storage, the pod's env."""


@dataclass
class Proc:
    plan: Plan
    index: int
    port: int = 0
    process: asyncio.subprocess.Process | None = None
    state: str = "starting"
    restarts: int = 0
    exit_code: int | None = None
    since: float = field(default_factory=time.time)
    stopping: bool = False
    task: asyncio.Task[None] | None = None
    replica: Any = None
    """A ContainerReplica on the Docker runtime (then `process` stays None)."""
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by stop(): ends a restart backoff at once (a crash-looping replica must not delay a delete)."""

    def running(self) -> bool:
        if self.replica is not None:
            return True  # its wait() ends the watch by cancelling it
        return self.process is not None and self.process.returncode is None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return Path(self.plan.log_dir) / f"inference-server-{self.index}.log"

    def report(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "port": self.port,
            "pid": self.process.pid if self.process else None,
            "container": self.replica.base if self.replica is not None else None,
            "state": self.state,
            "restarts": self.restarts,
            "exit_code": self.exit_code,
            "since": self.since,
            "generation": self.plan.generation,
            "log": str(self.log_path),
        }


def _free_port() -> int:
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _stopped(proc: Proc) -> bool:
    return proc.stopping


def tail(path: Path, lines: int = LOG_TAIL) -> str:
    return logfiles.tail(path, lines)


def replica_environment(inherited: Mapping[str, str], plan: Plan, mlk_lib: Path, token: str) -> dict[str, str]:
    """What a replica's process sees: what any process needs from the agent's environment (INHERITED), the
    deployment's own variables, and the server's — never the rest of whatever started the agent (a storage
    connection string, a cloud credential), as a pod sees only what its spec gives it."""
    env = {name: value for name, value in inherited.items() if name in INHERITED or name.startswith("LC_")}
    return (
        env
        | plan.env
        | {
            "AML_APP_ROOT": plan.code_dir,
            "AZUREML_ENTRY_SCRIPT": plan.scoring_script,
            "AZUREML_MODEL_DIR": plan.model_dir,
            "PYTHONPATH": str(mlk_lib),
            "PYTHONUNBUFFERED": "1",
            peer.ENV: token,
        }
    )


class Supervisor:
    def __init__(self, mlk_lib: Path, on_change: Any, workspace: str = "", groups: Path | None = None) -> None:
        self.mlk_lib = mlk_lib
        self.on_change = on_change
        self.workspace = workspace
        self.engine: Any = None
        self.procs: dict[str, list[Proc]] = {}
        self.failures: dict[str, dict[str, Any]] = {}
        self.token = peer.new_token()
        """Replicas answer requests that carry it only (mlk.http.peer); the router sends it."""
        self.groups = groups
        """Where the replicas' process groups are recorded, for an agent that starts after this one died."""
        self.peer_header = peer.header_line(self.token)

    # --- reconcile --------------------------------------------------------------------------------------
    def apply(self, plans: dict[str, Plan]) -> list[Proc]:
        """Start what is missing; return the replicas to stop (no longer wanted, or replaced and ready)."""
        retire: list[Proc] = []
        for key, plan in plans.items():
            procs = self.procs.setdefault(key, [])
            current = [p for p in procs if p.plan.generation == plan.generation and not p.stopping]
            if current and current[0].plan != plan:  # same generation, different plan: cannot happen by design
                current = []
            for index in range(len(current), plan.instances):
                proc = Proc(plan, index)
                procs.append(proc)
                proc.task = asyncio.get_running_loop().create_task(self._run(proc))
            for extra in current[plan.instances :]:
                retire.append(extra)
            if sum(p.state == "ready" for p in current[: plan.instances]) == plan.instances:
                retire += [p for p in procs if p.plan.generation != plan.generation and not p.stopping]
        for key, procs in self.procs.items():
            if key not in plans:
                retire += [p for p in procs if not p.stopping]
        for key in [k for k in self.failures if k not in plans]:
            # a deleted deployment's failure must not be read as that of a new one with its name
            del self.failures[key]
        return retire

    async def stop(self, procs: list[Proc], grace: float = 10.0) -> None:
        containers = []
        for proc in procs:
            proc.stopping = True
            proc.woken.set()
            if proc.process is not None and proc.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.process.send_signal(signal.SIGTERM)
            if proc.replica is not None:
                containers.append(asyncio.to_thread(proc.replica.stop, grace))
        await asyncio.gather(*containers)
        for proc in procs:
            if proc.task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(proc.task), grace)
                except TimeoutError:
                    if proc.process is not None:
                        with contextlib.suppress(ProcessLookupError):
                            proc.process.kill()
            self.procs[proc.plan.key] = [p for p in self.procs.get(proc.plan.key, []) if p is not proc]
            if not self.procs[proc.plan.key]:
                del self.procs[proc.plan.key]
        self.on_change()

    def ready_urls(self, key: str, generation: int) -> list[str]:
        procs = [p for p in self.procs.get(key, []) if p.state == "ready" and not p.stopping]
        newest = [p for p in procs if p.plan.generation == generation]
        return [p.url for p in (newest or procs)]

    def report(self) -> dict[str, Any]:
        return {
            key: {"replicas": [p.report() for p in procs], "failure": self.failures.get(key)}
            for key, procs in self.procs.items()
        } | {
            key: {"replicas": [], "failure": failure} for key, failure in self.failures.items() if key not in self.procs
        }

    # --- one replica ------------------------------------------------------------------------------------
    async def _run(self, proc: Proc) -> None:
        delay = 1.0
        while not proc.stopping:
            proc.port = _free_port()
            proc.state, proc.since = "starting", time.time()
            self.on_change()
            code = await self._start_and_wait(proc)
            proc.exit_code = code
            if proc.state == "ready" and time.time() - proc.since >= BACKOFF_RESET:
                delay = 1.0  # it had run well: a fresh failure, not the next of a crash loop
            if _stopped(proc):  # stop() may have been called while we waited
                break
            proc.restarts += 1
            proc.state, proc.since = ("failed" if code == EXIT_BOOT_FAILED else "crashed"), time.time()
            if code == EXIT_BOOT_FAILED or proc.restarts >= 3:
                self.failures[proc.plan.key] = {
                    "generation": proc.plan.generation,
                    "reason": "score.py could not start (init() failed or init/run missing)"
                    if code == EXIT_BOOT_FAILED
                    else f"the inference server exited with code {code}",
                    "log_tail": tail(proc.log_path),
                }
            log.warning("replica %s#%s exited with %s; restarting in %.0f s", proc.plan.key, proc.index, code, delay)
            self.on_change()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.woken.wait(), delay)
            delay = min(BACKOFF_MAX, delay * 2)
        proc.state = "stopped"
        self.on_change()

    async def _start_and_wait(self, proc: Proc) -> int:
        plan = proc.plan
        private_dir(proc.log_path.parent)
        if plan.container is not None:
            return await self._start_container(proc)
        proc.process = await asyncio.create_subprocess_exec(
            plan.python,
            "-m",
            "mlk.server",
            "--entry_script",
            os.path.join(plan.code_dir, plan.scoring_script),
            "--model_dir",
            plan.model_dir,
            "--port",
            str(proc.port),
            "--host",
            "127.0.0.1",
            cwd=plan.code_dir,
            env=replica_environment(os.environ, plan, self.mlk_lib, self.token),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: the server and its workers are stopped together
            # SIGTERM, not SIGKILL: the server then stops its workers, which die with it in turn.
            preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid()),
        )
        self._record_groups()
        assert proc.process.stdout is not None
        copier = asyncio.get_running_loop().create_task(logfiles.copy(proc.process.stdout, proc.log_path))
        watcher = asyncio.get_running_loop().create_task(self._watch_ready(proc))
        code = await proc.process.wait()
        watcher.cancel()
        with contextlib.suppress(Exception):  # the output's end (a worker may hold the pipe a moment longer)
            await asyncio.wait_for(asyncio.shield(copier), 5.0)
        self._record_groups()
        return code

    def _record_groups(self) -> None:
        """Write the running replicas' process groups (leader pid and its start time) for the next agent."""
        if self.groups is None:
            return
        running = {}
        for procs in self.procs.values():
            for proc in procs:
                if proc.process is not None and proc.process.returncode is None:
                    started = start_time(proc.process.pid)
                    if started is not None:
                        running[str(proc.process.pid)] = started
        write_json(self.groups, running, mode=0o600)

    async def _docker(self) -> Any:
        if self.engine is None:
            from mlk.images.engine import Engine
            from mlk.local.containers import remove_leftovers

            self.engine = await asyncio.to_thread(Engine.connect)
            removed = await asyncio.to_thread(remove_leftovers, self.engine, self.workspace)
            if removed:
                log.warning("removed %s container(s) an earlier agent of this workspace left behind", removed)
        return self.engine

    async def _start_container(self, proc: Proc) -> int:
        """The Docker runtime: initializer, then server (mlk.local.containers); the server's exit code."""
        from mlk.local.containers import ContainerReplica

        plan = proc.plan
        assert plan.container is not None
        engine = await self._docker()
        replica = ContainerReplica(engine, self.workspace, plan.key, proc.index, plan.generation, plan.container)
        proc.replica = replica
        try:
            init_log = Path(plan.log_dir) / "storage-initializer.log"
            code = await asyncio.to_thread(replica.initialize, init_log)
            if code != 0:
                log_file = logfiles.RotatingLog(proc.log_path)
                log_file.write(f"storage-initializer exited with {code}:\n{tail(init_log)}\n".encode())
                log_file.close()
                return 3
            env = {**dict(plan.container["env"]), "PYTHONUNBUFFERED": "1", peer.ENV: self.token}
            await asyncio.to_thread(replica.start_server, proc.port, env, proc.log_path)
            watcher = asyncio.get_running_loop().create_task(self._watch_ready(proc))
            try:
                return int(await asyncio.to_thread(replica.wait))
            finally:
                watcher.cancel()
        finally:
            await asyncio.to_thread(replica.remove)

    async def _watch_ready(self, proc: Proc) -> None:
        target = RouterReplica(proc.url)
        while proc.running():
            if await probe(target, timeout=1.0, peer_header=self.peer_header):
                proc.state, proc.since = "ready", time.time()
                self.failures.pop(proc.plan.key, None)
                self.on_change()
                return
            await asyncio.sleep(0.05)


def kill_leftovers(groups: Path) -> int:
    """Kill the replica process groups an earlier agent recorded in `groups` and left running (it was
    killed before it could stop them); how many there were."""
    try:
        recorded: dict[str, int] = read_json(groups, {})
    except (OSError, ValueError):  # unreadable: nothing to go on (the pids could be anyone's by now)
        recorded = {}
    killed = sum(kill_group(int(pid), started) for pid, started in recorded.items())
    write_json(groups, {}, mode=0o600)
    return killed
