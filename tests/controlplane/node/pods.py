"""One pod on the test node, from binding to deletion, as a kubelet runs it.

sandbox (network namespace, address) → volumes → init containers in order (each to exit 0) → containers
→ probes → status. A container that exits is restarted per restartPolicy with the kubelet's back-off
(doubling from `backoff` seconds up to 5 minutes), shown as waiting CrashLoopBackOff with the last
termination in lastState. Deletion: SIGTERM to every container, SIGKILL after the grace period, then the
final status and the pod's removal from the API (gracePeriodSeconds=0, uid precondition), as a kubelet.
Every status write is a merge patch of pods/status under the node's identity.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import signal
import subprocess
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.controlplane.node import containers, docker_runtime, probes
from tests.controlplane.node.api import Api, ApiError
from tests.controlplane.node.probes import ProbeState
from tests.controlplane.node.volumes import VolumeError, prepare

MAX_BACKOFF = 300.0


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ContainerRun:
    spec: dict[str, Any]
    init: bool
    logs: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: str | None = None
    started_mono: float = 0.0
    last: dict[str, Any] | None = None
    waiting: tuple[str, str] = ("ContainerCreating", "")
    backoff: float = 0.0
    retry_at: float = 0.0
    done: bool = False
    readiness: ProbeState | None = None
    liveness: ProbeState | None = None
    pre_stop: Future[None] | None = None
    pre_stop_until: float = 0.0

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def log_file(self, restarts: int | None = None) -> Path:
        return self.logs / self.name / f"{self.restarts if restarts is None else restarts}.log"

    @property
    def ready(self) -> bool:
        return self.proc is not None and self.readiness is not None and self.readiness.passing

    def status(self, image: str) -> dict[str, Any]:
        state: dict[str, Any]
        if self.proc is not None:
            state = {"running": {"startedAt": self.started_at}}
        elif self.done and self.last is not None:
            state = {"terminated": self.last}
        else:
            reason, message = self.waiting
            state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        out: dict[str, Any] = {
            "name": self.name,
            "image": image,
            "imageID": "",
            "ready": self.ready if not self.init else self.done,
            "restartCount": self.restarts,
            "started": self.proc is not None,
            "state": state,
            "lastState": {"terminated": self.last} if self.last is not None and not self.done else {},
        }
        if self.proc is not None:
            out["containerID"] = f"mlk-node://{self.proc.pid}"
        return out


@dataclass
class PodRunner:
    api: Api
    pod: dict[str, Any]
    root: Path
    slot: int
    network: Any
    api_port: int
    backoff: float
    pause_image: str | None = None
    """Set: the Docker runtime, with this image for the sandbox; None: containers are local processes."""
    ctx: containers.PodContext | None = None
    runs: list[ContainerRun] = field(default_factory=list)
    setup_error: str = ""
    terminating_since: float | None = None
    gone: bool = False
    _written: dict[str, Any] | None = None
    _start_time: str = field(default_factory=now_rfc3339)

    @property
    def key(self) -> str:
        return self.pod["metadata"]["uid"]

    @property
    def path(self) -> str:
        meta = self.pod["metadata"]
        return f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"

    @property
    def restart_policy(self) -> str:
        return str(self.pod["spec"].get("restartPolicy", "Always"))

    def update(self, pod: dict[str, Any]) -> None:
        # the address this agent gave the pod stands, even in a version of it from before that status write
        address = (self.pod.get("status") or {}).get("podIP")
        self.pod = pod
        if address:
            pod["status"] = {**(pod.get("status") or {}), "podIP": address}
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") and self.terminating_since is None:
            self.terminating_since = time.monotonic()

    # --- the loop's step --------------------------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        if self.terminating_since is not None:
            self._terminate(now)
            return
        if self.ctx is None and not self._setup():
            self._write_status()
            return
        for run in self.runs:
            self._reap(run, now)
        inits = [r for r in self.runs if r.init]
        pending_init = next((r for r in inits if not r.done), None)
        if pending_init is not None:
            if pending_init.proc is None:
                self._maybe_start(pending_init, now)
        else:
            for run in self.runs:
                if not run.init and run.proc is None and not run.done:
                    self._maybe_start(run, now)
                self._probe(run, now)
        self._write_status()

    def _setup(self) -> bool:
        pause = None
        try:
            if self.pause_image is not None:
                pid = docker_runtime.start_pause(self.network.bridge, self.slot, self.key, self.pause_image)
                pause = docker_runtime.pause_name(self.network.bridge, self.slot)
                address, netns = self.network.add_sandbox(self.slot, pid=pid)
            else:
                address, netns = self.network.add_sandbox(self.slot)
            self.pod.setdefault("status", {})["podIP"] = address
            volumes = prepare(self.api, self.pod, self.root)
        except (VolumeError, ApiError, subprocess.CalledProcessError) as exc:
            self.setup_error = str(exc)
            return False
        ctx = containers.PodContext(self.pod, netns, volumes, self.network.gateway, self.api_port, pause)
        self.ctx = ctx
        spec = self.pod["spec"]
        self.runs = [ContainerRun(c, True, self.root / "logs") for c in spec.get("initContainers") or []]
        self.runs += [ContainerRun(c, False, self.root / "logs") for c in spec["containers"]]
        self.setup_error = ""
        return True

    def _maybe_start(self, run: ContainerRun, now: float) -> None:
        if now < run.retry_at or self.ctx is None:
            return
        try:
            env = containers.environment(self.api, self.ctx, run.spec)
            run.proc = containers.start(self.ctx, run.spec, env, run.log_file(), self._docker_name(run))
        except (VolumeError, ApiError, OSError) as exc:
            run.waiting = ("CreateContainerConfigError", str(exc))
            run.retry_at = now + 2
            return
        run.started_at, run.started_mono = now_rfc3339(), now
        if not run.init:
            run.readiness = ProbeState(run.spec.get("readinessProbe"), now)
            run.liveness = ProbeState(run.spec.get("livenessProbe"), now)

    def _docker_name(self, run: ContainerRun) -> str | None:
        """The Docker container of this run of `run` (a new one per restart), or None for a process."""
        if self.ctx is None or self.ctx.pause is None:
            return None
        return f"{self.ctx.pause}-{run.name}-{run.restarts}"[:120]

    def _signal(self, run: ContainerRun, sig: signal.Signals) -> None:
        if run.proc is not None:
            containers.signal_group(run.proc, sig, self._docker_name(run))

    def _pull_failed(self, run: ContainerRun, now: float) -> bool:
        """`docker run` could not pull the image: waiting in ImagePullBackOff, no restart counted."""
        if self._docker_name(run) is None or run.proc is None or run.proc.returncode != docker_runtime.PULL_FAILED:
            return False
        lines = run.log_file().read_text(errors="replace").strip().splitlines() if run.log_file().exists() else []
        if not any("pull" in line.lower() or "unable to find image" in line.lower() for line in lines[-5:]):
            return False
        run.log_file().unlink(missing_ok=True)  # the engine's words, not the container's log
        run.proc = None
        run.backoff = self.backoff if run.backoff == 0 else min(run.backoff * 2, MAX_BACKOFF)
        run.retry_at = now + run.backoff
        image = run.spec.get("image", "")
        run.waiting = ("ImagePullBackOff", f'Back-off pulling image "{image}": {lines[-1] if lines else ""}')
        return True

    def _reap(self, run: ContainerRun, now: float) -> None:
        if run.proc is None or run.proc.poll() is None:
            return
        if self._pull_failed(run, now):
            return
        code = run.proc.returncode
        exit_code = 128 - code if code < 0 else code
        run.last = {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": run.started_at,
            "finishedAt": now_rfc3339(),
            "containerID": f"mlk-node://{run.proc.pid}",
        }
        run.proc = None
        policy = self.restart_policy
        if exit_code == 0 and (run.init or policy != "Always"):
            run.done = True
            return
        if policy == "Never":
            run.done = True
            return
        if now - run.started_mono > 600:
            run.backoff = 0.0  # ran ten minutes: the kubelet resets its back-off
        run.backoff = self.backoff if run.backoff == 0 else min(run.backoff * 2, MAX_BACKOFF)
        run.retry_at = now + run.backoff
        meta = self.pod["metadata"]
        run.waiting = (
            "CrashLoopBackOff",
            f"back-off {run.backoff:.0f}s restarting failed container={run.name} "
            f"pod={meta['name']}_{meta['namespace']}({meta['uid']})",
        )
        run.restarts += 1

    def _probe(self, run: ContainerRun, now: float) -> None:
        if run.proc is None or run.readiness is None or run.liveness is None:
            return
        ip = str(self.pod["status"].get("podIP", ""))
        run.readiness.tick(run.spec, ip, run.proc.pid, now)
        run.liveness.tick(run.spec, ip, run.proc.pid, now)
        if run.liveness.failed:  # the kubelet kills it; the restart policy brings it back
            self._signal(run, signal.SIGKILL)

    # --- status -----------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        spec = self.pod["spec"]
        images = {c["name"]: c.get("image", "") for c in [*(spec.get("initContainers") or []), *spec["containers"]]}
        inits = [r for r in self.runs if r.init]
        mains = [r for r in self.runs if not r.init]
        initialized = all(r.done for r in inits)
        ready = bool(mains) and all(r.ready for r in mains)
        if self.runs and all(r.done for r in mains) and mains:
            failed = any((r.last or {}).get("exitCode") for r in mains)
            phase = "Failed" if failed else "Succeeded"
        elif self.runs and initialized and any(r.proc is not None or r.restarts for r in mains):
            phase = "Running"
        else:
            phase = "Pending"
        stamp = now_rfc3339()

        def condition(kind: str, value: bool, reason: str = "") -> dict[str, Any]:
            out = {
                "type": kind,
                "status": "True" if value else "False",
                "lastTransitionTime": stamp,
                "lastProbeTime": None,
            }
            if reason and not value:
                out["reason"] = reason
            return out

        scheduled = [c for c in self.pod.get("status", {}).get("conditions") or [] if c["type"] == "PodScheduled"]
        status: dict[str, Any] = {
            "phase": phase,
            "hostIP": self.network.gateway,
            "hostIPs": [{"ip": self.network.gateway}],
            "startTime": self._start_time,
            "conditions": [
                condition("PodReadyToStartContainers", self.ctx is not None),
                condition("Initialized", initialized, "ContainersNotInitialized"),
                condition("Ready", ready, "ContainersNotReady"),
                condition("ContainersReady", ready, "ContainersNotReady"),
                *scheduled,
            ],
        }
        if self.ctx is not None:
            ip = self.pod["status"]["podIP"]
            status.update({"podIP": ip, "podIPs": [{"ip": ip}]})
        if self.runs:
            status["initContainerStatuses"] = [r.status(images[r.name]) for r in inits] or None
            status["containerStatuses"] = [r.status(images[r.name]) for r in mains]
        else:
            waiting = ("ContainerCreating", self.setup_error)
            status["containerStatuses"] = [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "state": {"waiting": {"reason": waiting[0], "message": waiting[1] or None}},
                }
                for c in self.pod["spec"]["containers"]
            ]
        return status

    def _write_status(self) -> None:
        status = self.status()
        comparable = {**status, "conditions": [{**c, "lastTransitionTime": ""} for c in status["conditions"]]}
        if comparable == self._written:
            return
        previous = {c["type"]: c for c in (self.pod.get("status") or {}).get("conditions") or []}
        for cond in status["conditions"]:  # lastTransitionTime moves only when the status does
            old = previous.get(cond["type"])
            if old is not None and old.get("status") == cond["status"] and old.get("lastTransitionTime"):
                cond["lastTransitionTime"] = old["lastTransitionTime"]
        try:
            written = self.api.merge_patch(f"{self.path}/status", {"status": status})
        except ApiError as exc:
            if exc.status == 404:
                self.gone = True
                return
            raise
        self.pod["status"] = written.get("status", status)
        self._written = comparable

    # --- the end ----------------------------------------------------------------------------------------
    def _terminate(self, now: float) -> None:
        assert self.terminating_since is not None
        grace = self.pod["metadata"].get("deletionGracePeriodSeconds")
        grace = 30 if grace is None else int(grace)
        running = [r for r in self.runs if r.proc is not None]
        late = now - self.terminating_since >= grace
        for run in running:
            assert run.proc is not None
            if run.proc.poll() is None and (late or self._pre_stop_done(run, now)):
                self._signal(run, signal.SIGKILL if late else signal.SIGTERM)
        for run in running:
            if run.proc is not None and run.proc.poll() is not None:
                code = run.proc.returncode
                run.last = {
                    "exitCode": 128 - code if code < 0 else code,
                    "reason": "Error" if code else "Completed",
                    "startedAt": run.started_at,
                    "finishedAt": now_rfc3339(),
                }
                run.proc, run.done = None, True
        self._write_status()
        if any(r.proc is not None for r in self.runs):
            return
        uid = self.pod["metadata"]["uid"]
        try:
            self.api.request(
                "DELETE",
                self.path,
                {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": {"uid": uid}},
            )
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
        self.gone = True

    def _pre_stop_done(self, run: ContainerRun, now: float) -> bool:
        """The container's preStop hook (sleep, exec or httpGet) runs before its SIGTERM, as a kubelet's."""
        hook = ((run.spec.get("lifecycle") or {}).get("preStop")) or {}
        if not hook:
            return True
        if run.pre_stop is None:
            assert run.proc is not None
            run.pre_stop = probes.POOL.submit(self._run_hook, hook, run)
            run.pre_stop_until = now + float((hook.get("sleep") or {}).get("seconds", 0))
        return run.pre_stop.done() and now >= run.pre_stop_until

    def _run_hook(self, hook: dict[str, Any], run: ContainerRun) -> None:
        ip = str(self.pod["status"].get("podIP", ""))
        with contextlib.suppress(Exception):  # a failed hook does not stop the termination
            if "exec" in hook or "httpGet" in hook:
                probes.run_once({**hook, "timeoutSeconds": 30}, run.spec, ip, run.proc.pid if run.proc else None)

    def kill(self) -> None:
        """The pod is gone from the API (force-deleted): stop at once."""
        for run in self.runs:
            if run.proc is not None:
                self._signal(run, signal.SIGKILL)
                containers.signal_group(run.proc, signal.SIGKILL)  # the docker client too
                run.proc.wait()
                run.proc = None

    def cleanup(self) -> None:
        self.kill()
        if self.pause_image is not None:
            docker_runtime.remove_pod(self.key, self.network.bridge, self.slot)
        self.network.remove_sandbox(self.slot)
        shutil.rmtree(self.root / "volumes", ignore_errors=True)
