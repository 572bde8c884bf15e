"""A command job on this machine, from start to end: `python -m mlk.local.jobrun WORKSPACE JOB`.

Started detached by `job create`, so the job outlives the command (as on a cluster). It builds (or reuses)
the environment's virtual environment, materialises code and inputs, opens the job's MLflow run, starts the
processes (mlk.local.jobprocs), enforces limits.timeout, uploads the outputs (mlk.local.joboutputs) and
reports each step in status.json: Preparing, Running, Finalizing, then Completed, Failed or Canceled.
SIGTERM is `job cancel`: every process group is killed, what exists is uploaded, the job is Canceled.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mlk.errors import MlkError
from mlk.lifetime import start_time
from mlk.local import jobcontainers, joboutputs, jobprocs, tracking
from mlk.specs.bindings import bind
from mlk.storage import mlflowrest
from mlk.workspace import jobs
from mlk.workspace.files import read_json
from mlk.workspace.home import Workspace, open_workspace
from mlk.workspace.jobrecords import LITERAL, Prepared

POLL = 0.2
KILL_GRACE = 5.0
LAST_LINES = 20
MLFLOW_STATUS = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}


class Run:
    def __init__(self, ws: Workspace, job: Prepared) -> None:
        self.ws, self.job = ws, job
        self.home = jobs.folder(ws, job["name"])
        self.status: dict[str, Any] = jobs.status_of(ws, job["name"])
        self.canceled = False
        self.tracking: tracking.Tracking | None = None

    def report(self, status: str, **fields: Any) -> None:
        self.status |= {"status": status, **fields}
        jobs.save_status(self.ws, self.job["name"], self.status)
        print(f"{time.strftime('%H:%M:%S')} {status}", flush=True)

    def cancel(self, *_: object) -> None:
        self.canceled = True

    def _inputs(self, store: Any) -> dict[str, str]:
        from mlk.storage.cas import load_manifest, materialize

        bound = {}
        for name, given in self.job["inputs"].items():
            if given["type"] == LITERAL:
                bound[name] = given.get("value", "")
                continue
            manifest = load_manifest(store, given["digest"])
            root = materialize(store, manifest, self.ws.cache / "inputs", self.ws.cache / "blobs")
            file = manifest.kind == "file"
            bound[name] = str(root / manifest.files[0].path if file else root / manifest.name)
        return bound

    def prepare(self) -> tuple[Path | None, Path, dict[str, str], dict[str, Path]]:
        """The venv's bin folder, the working folder, the inputs' and the outputs' paths."""
        from mlk.envs.venv import ensure_env
        from mlk.storage.cas import load_manifest, materialize

        definition = self.job["environment"]
        # an image alone (no conda file) has nothing to build here: the job runs in mlk's own Python, as a
        # deployment's score.py does (job create says so); on the Docker runtime the image has it all
        venv_bin: Path | None = Path(sys.executable).parent
        if self.job.get("runtime") == jobcontainers.DOCKER:
            venv_bin = None
        elif definition.get("conda_file"):
            built = ensure_env(definition, self.ws.envs, extra_requirements=(), on_output=print)
            venv_bin = built.python.parent
        workdir = self.home / "wd"
        shutil.rmtree(workdir, ignore_errors=True)
        with self.ws.store() as store:
            if self.job["code"]:
                manifest = load_manifest(store, self.job["code"])
                root = materialize(store, manifest, self.ws.cache / "code", self.ws.cache / "blobs")
                source = root if manifest.kind == "file" else root / manifest.name
                shutil.copytree(source, workdir) if source.is_dir() else _copy_file(source, workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            inputs = self._inputs(store)
        outputs = {}
        for name, _output in self.job["outputs"].items():
            folder = self.home / "outputs" / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            outputs[name] = folder
        return venv_bin, workdir, inputs, outputs

    def _open_run(self) -> dict[str, str]:
        try:
            self.tracking = tracking.ensure(self.ws, print)
            auth = self.tracking.auth
            experiment = mlflowrest.experiment_id(self.tracking.uri, self.job["experiment_name"], auth=auth)
            run_id = mlflowrest.create_run(
                self.tracking.uri, experiment, self.job["display_name"], int(time.time() * 1000), auth=auth
            )
        except MlkError as exc:
            print(f"no MLflow tracking for this job: {exc}", flush=True)
            self.tracking = None
            return {}
        self.report(self.status["status"], run_id=run_id, experiment_id=experiment)
        return {**self.tracking.job_environment(), "MLFLOW_RUN_ID": run_id, "MLFLOW_EXPERIMENT_ID": experiment}

    def run(self) -> None:
        self.report("Preparing", start_time=time.time())
        try:
            venv_bin, workdir, inputs, outputs = self.prepare()
            mlflow_env = self._open_run()
        except (MlkError, OSError) as exc:
            self.report("Failed", end_time=time.time(), error=f"preparing the job failed: {exc}")
            return
        if self.canceled:
            self.report("Canceled", end_time=time.time())
            return
        user_logs = self.home / "user_logs"
        user_logs.mkdir(exist_ok=True)
        output_paths = {
            name: str(path / name) if self.job["outputs"][name]["type"] == "uri_file" else str(path)
            for name, path in outputs.items()
        }
        command = bind(self.job["command"], inputs, output_paths)
        shape = jobprocs.layout(self.job)
        self.report("Running", processes=shape.processes)
        ranks = jobprocs.rank_environments(self.job, shape)
        if self.job.get("runtime") == jobcontainers.DOCKER:
            try:
                started = self._containers(command, workdir, ranks, mlflow_env, user_logs)
            except MlkError as exc:
                self.report("Failed", end_time=time.time(), error=f"the job's containers did not start: {exc}")
                return
            self.report("Running", containers=[p.name for p, _ in started])
        else:
            base = jobprocs.process_env(venv_bin, self.job, mlflow_env)
            started = jobprocs.start(command, workdir, base, ranks, user_logs)
            self.report("Running", groups=[{"pid": p.pid, "started": start_time(p.pid)} for p, _ in started])
        final, error = self._wait(started, user_logs, shape.processes)
        if self.job.get("runtime") == jobcontainers.DOCKER:  # ended, their output copied: nothing to keep
            for container, _ in started:
                container.remove()
        self.report("Finalizing")
        logged = self._end_run(final)
        staging = joboutputs.artifacts(self.home / "artifacts", workdir, user_logs, logged)
        digests = joboutputs.upload_all(self.ws, self.job["name"], outputs, staging, print)
        self.report(final, end_time=time.time(), outputs=digests, **({"error": error} if error else {}))

    def _containers(
        self, command: str, workdir: Path, ranks: list[dict[str, str]], tracking: dict[str, str], user_logs: Path
    ) -> list[Any]:
        """The ranks as containers: the job's folder and the workspace's cache (the inputs) bound."""
        logs = [(user_logs / jobprocs.log_name(r, len(ranks))).open("ab") for r in range(len(ranks))]
        try:
            ranked = jobcontainers.start(
                self.ws, self.job, command, workdir, [self.home, self.ws.cache], ranks, tracking, logs
            )
        except BaseException:
            for log in logs:
                log.close()
            raise
        return list(zip(ranked, logs, strict=True))

    def _wait(self, started: list[Any], user_logs: Path, count: int) -> tuple[str, str | None]:
        deadline = time.monotonic() + self.job["timeout"] if self.job["timeout"] else None
        reason = None
        while any(p.poll() is None for p, _ in started):
            if self.canceled or (deadline is not None and time.monotonic() > deadline):
                reason = "canceled" if self.canceled else f"the job ran past limits.timeout ({self.job['timeout']} s)"
                _stop(started)
                break
            failed = [p for p, _ in started if p.poll() not in (None, 0)]
            if failed and count > 1:
                time.sleep(KILL_GRACE)  # one rank failed: the others would wait for it forever
                _stop(started)
                break
            time.sleep(POLL)
        for _, log in started:
            log.close()
        if reason == "canceled":
            return "Canceled", None
        if reason is not None:
            return "Failed", reason
        codes = [p.returncode for p, _ in started]
        bad = [(rank, code) for rank, code in enumerate(codes) if code != 0]
        if not bad:
            return "Completed", None
        rank, code = bad[0]
        log = user_logs / jobprocs.log_name(rank, count)
        last = "\n".join(log.read_text(errors="replace").splitlines()[-LAST_LINES:]) if log.exists() else ""
        return "Failed", f"process {rank} exited with code {code}; its last lines:\n{last}"

    def _end_run(self, final: str) -> dict[str, Path]:
        """Close the MLflow run; where its artifacts and logged models are on disk."""
        run_id, experiment = str(self.status.get("run_id") or ""), str(self.status.get("experiment_id") or "")
        if self.tracking is None or not run_id:
            return {}
        root = tracking.artifacts_root(self.ws)
        logged = {"": root / experiment / run_id / "artifacts"}
        uri, auth = self.tracking.uri, self.tracking.auth
        try:
            mlflowrest.end_run(uri, run_id, MLFLOW_STATUS[final], int(time.time() * 1000), auth=auth)
            models = mlflowrest.logged_models(uri, experiment, run_id, auth=auth)
        except MlkError as exc:
            print(f"closing the MLflow run failed: {exc}", flush=True)
            return logged
        return logged | {name: root / where for name, where in models.items()}


def _copy_file(source: Path, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, workdir / source.name)


def _stop(started: list[Any]) -> None:
    """SIGTERM every rank (a process's whole group, or its container), SIGKILL after a grace period."""
    for process, _ in started:
        if process.poll() is None:
            _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE
    while time.monotonic() < deadline and any(p.poll() is None for p, _ in started):
        time.sleep(POLL)
    for process, _ in started:
        _signal(process, signal.SIGKILL)
        process.wait()


def _signal(process: Any, sig: signal.Signals) -> None:
    import os
    import subprocess

    if isinstance(process, subprocess.Popen):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    elif process.poll() is None:
        process.send_signal(sig)


def main(workspace: str, name: str) -> None:
    ws = open_workspace(workspace, create=False)
    job: Prepared = read_json(jobs.folder(ws, name) / "prepared.json", None)
    run = Run(ws, job)
    if jobs.is_terminal(run.status):  # canceled before this runner got going
        return
    import os

    run.report(run.status.get("status", "Queued"), runner={"pid": os.getpid(), "started": start_time(os.getpid())})
    signal.signal(signal.SIGTERM, run.cancel)
    signal.signal(signal.SIGINT, run.cancel)
    run.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
