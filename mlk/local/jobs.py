"""Jobs on this machine, behind the JobRunner interface: each job's runner is a detached process
(mlk.local.jobrun) that outlives the command which started it; this module starts it, reads what it
reports, stops it, and notices when it vanished (a reboot, a kill) without saying so."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from mlk.lifetime import kill_orphaned_group, running, spawn_detached
from mlk.local import jobcontainers
from mlk.workspace import jobs
from mlk.workspace.files import private_dir, write_json
from mlk.workspace.home import Workspace
from mlk.workspace.jobs import Say

FOLLOW_POLL = 0.5
CANCEL_WAIT = 30.0
INTERRUPTED = "the job's runner stopped while the job ran (the machine restarted, or it was killed)"


class LocalJobs:
    name = "local"

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def start_job(self, job: Mapping[str, Any], *, say: Say) -> None:
        prepared = dict(job)
        if jobcontainers.runtime(self.ws) == jobcontainers.DOCKER:  # the ranks run in the environment's image
            prepared |= {"runtime": jobcontainers.DOCKER, "image": jobcontainers.job_image(self.ws, job, say)}
        elif not job["environment"].get("conda_file"):
            say("warning: the environment has no conda file, which this machine needs: the job runs in mlk's Python")
        home = jobs.folder(self.ws, str(job["name"]))
        private_dir(home)
        write_json(home / "prepared.json", prepared)
        jobs.save_status(self.ws, str(job["name"]), {"status": "Queued"})
        spawn_detached([sys.executable, "-m", "mlk.local.jobrun", self.ws.name, str(job["name"])], home / "runner.log")

    def _runner_alive(self, status: Mapping[str, Any]) -> bool:
        runner = status.get("runner")
        if not runner:
            return True  # started, not reporting yet
        return running(int(runner["pid"]), runner["started"])

    def poll_job(self, name: str) -> dict[str, Any]:
        status = jobs.status_of(self.ws, name)
        if not jobs.is_terminal(status) and status.get("runner") and not self._runner_alive(status):
            for group in status.get("groups", []):
                kill_orphaned_group(int(group["pid"]), group.get("started"))
            if status.get("containers"):
                jobcontainers.remove_leftovers(self.ws, name)
            status |= {"status": "Failed", "error": INTERRUPTED, "end_time": time.time()}
            jobs.save_status(self.ws, name, status)
        return status

    def cancel_job(self, name: str) -> None:
        status = self.poll_job(name)
        if jobs.is_terminal(status):
            return
        runner = status.get("runner")
        if runner and self._runner_alive(status):
            os.kill(int(runner["pid"]), signal.SIGTERM)
        elif not runner:
            jobs.save_status(self.ws, name, {**status, "status": "Canceled", "end_time": time.time()})
        deadline = time.monotonic() + CANCEL_WAIT
        while time.monotonic() < deadline and not jobs.is_terminal(self.poll_job(name)):
            time.sleep(0.1)

    def job_logs(self, name: str, *, follow: bool, out: Callable[[str], None]) -> None:
        """Each process's log as it grows, every line prefixed with the log's name when there are several."""
        folder = jobs.folder(self.ws, name) / "user_logs"
        offsets: dict[str, int] = {}
        while True:
            done = jobs.is_terminal(self.poll_job(name))
            logs = sorted(folder.glob("std_log*.txt")) if folder.is_dir() else []
            for log in logs:
                with log.open("rb") as handle:
                    handle.seek(offsets.get(log.name, 0))
                    chunk = handle.read()
                complete = chunk[: chunk.rfind(b"\n") + 1] if not done else chunk
                offsets[log.name] = offsets.get(log.name, 0) + len(complete)
                for line in complete.decode(errors="replace").splitlines():
                    out(f"[{log.name}] {line}" if len(logs) > 1 else line)
            if done or not follow:
                return
            time.sleep(FOLLOW_POLL)
