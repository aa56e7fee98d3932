"""Long work as jobs: persisted in the ``jobs`` table, run on a bounded thread pool.

A job's input is moved into its own folder (``<jobs dir>/<id>/``) before it is queued, so a
queued job survives a restart. On startup the manager marks jobs left ``running`` by a server
process that no longer exists as failed (``server_restarted``, with the reason) and queues the
``queued`` ones again; a claim (``queued → running`` in one UPDATE) makes sure that only one
process runs a job even when several server workers start together.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.db import Database, JobRecord
from api.errors import ApiError
from api.metrics import Metrics
from api.settings import ApiSettings
from provenant.errors import ProvenanceError

__all__ = ["JobContext", "JobOutput", "JobRunner", "JobManager", "RESTART_REASON"]

log = logging.getLogger("provenant.api.jobs")

RESTART_REASON = "the server restarted while the job was running; submit it again"


@dataclass(frozen=True)
class JobContext:
    job_id: str
    params: dict[str, Any]
    input_path: Path | None
    workdir: Path


@dataclass(frozen=True)
class JobOutput:
    """What a runner returns: JSON facts and, optionally, a result file in the workdir."""

    result: dict[str, Any]
    file: Path | None = None


JobRunner = Callable[[JobContext], JobOutput]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobManager:
    """Submits, runs, recovers and expires jobs for one server process."""

    def __init__(self, db: Database, settings: ApiSettings, metrics: Metrics,
                 runners: dict[str, JobRunner]) -> None:
        self.db, self.settings, self.metrics, self.runners = db, settings, metrics, runners
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.capacity = settings.job_workers + settings.job_queue_size
        self.folder = settings.resolved_jobs_dir()
        self._pending = 0
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(settings.job_workers, thread_name_prefix="provenant-job")

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Recover jobs a previous server left behind, and delete expired ones."""
        self.folder.mkdir(parents=True, exist_ok=True)
        host = socket.gethostname()
        for job in self.db.jobs_in_state("running"):
            whost, _, rest = (job.worker or "").partition(":")
            pid = rest.partition(":")[0]
            if whost == host and pid.isdigit() and int(pid) != os.getpid() \
                    and _pid_alive(int(pid)):
                continue  # a sibling server process is running it
            self.db.fail_job(job.job_id, "server_restarted", RESTART_REASON)
            self.metrics.job_events.labels(job.kind, "failed").inc()
            self._remove_input(job)
        for job in self.db.jobs_in_state("queued"):
            self._enqueue(job.job_id)
        self.purge_expired()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- submission -----------------------------------------------------------------------
    def check_capacity(self) -> None:
        """503 with Retry-After when this process's job queue is full."""
        if self._pending >= self.capacity:
            self.metrics.rejected.labels("jobs_full").inc()
            raise ApiError(503, "overloaded", f"the job queue is full ({self.capacity} jobs "
                           "queued or running); retry later",
                           headers={"Retry-After": str(self.settings.retry_after_s * 5)})

    def submit(self, kind: str, params: dict[str, Any], owner_key: str | None,
               upload: Path | None = None, suffix: str = "") -> JobRecord:
        """Persist a queued job (moving ``upload`` into its folder) and queue it."""
        if kind not in self.runners:
            raise ApiError(501, "capability_unavailable", f"no runner for jobs of kind {kind!r}")
        self.check_capacity()
        self.purge_expired()
        job_id = secrets.token_hex(16)
        workdir = self.folder / job_id
        workdir.mkdir(parents=True)
        input_path = None
        if upload is not None:
            input_path = workdir / f"input{suffix}"
            shutil.move(str(upload), input_path)
        job = self.db.insert_job(JobRecord(job_id, kind, "queued", owner_key, None, params,
                                           str(input_path) if input_path else None))
        self.metrics.job_events.labels(kind, "queued").inc()
        self._enqueue(job_id)
        return job

    def _enqueue(self, job_id: str) -> None:
        with self._lock:
            self._pending += 1
        self._executor.submit(self._run, job_id)

    # -- execution ------------------------------------------------------------------------
    def _run(self, job_id: str) -> None:
        job: JobRecord | None = None
        try:
            if not self.db.claim_job(job_id, self.worker_id):
                return
            job = self.db.get_job(job_id)
            self.metrics.job_events.labels(job.kind, "running").inc()
            self._execute(job)
        except Exception:  # the database itself failed: nothing more can be recorded
            log.exception("job %s could not be run", job_id)
        finally:
            with self._lock:
                self._pending -= 1
            if job is not None:
                self._remove_input(job)

    def _execute(self, job: JobRecord) -> None:
        workdir = self.folder / job.job_id
        ctx = JobContext(job.job_id, job.params, Path(job.input_path) if job.input_path else None,
                         workdir)
        try:
            out = self.runners[job.kind](ctx)
        except ProvenanceError as exc:
            message = exc.message
            if ctx.input_path is not None:  # the client's name for the file, not the server's
                message = message.replace(str(ctx.input_path),
                                          str(job.params.get("filename") or "the upload"))
            message = message.replace(str(workdir) + os.sep, "")
            self.db.fail_job(job.job_id, exc.code, message)
            self.metrics.job_events.labels(job.kind, "failed").inc()
            return
        except Exception:
            incident = secrets.token_hex(6)
            log.exception("incident %s: job %s (%s) failed", incident, job.job_id, job.kind)
            self.db.fail_job(job.job_id, "internal_error",
                             f"internal error (incident {incident}); the server's log has details")
            self.metrics.job_events.labels(job.kind, "failed").inc()
            return
        self.db.finish_job(job.job_id, out.result, str(out.file) if out.file else None)
        self.metrics.job_events.labels(job.kind, "succeeded").inc()

    @staticmethod
    def _remove_input(job: JobRecord) -> None:
        if job.input_path:
            Path(job.input_path).unlink(missing_ok=True)

    # -- housekeeping ---------------------------------------------------------------------
    def purge_expired(self) -> int:
        """Delete finished jobs older than ``job_ttl_s`` with their files."""
        expired = self.db.expired_jobs(time.time() - self.settings.job_ttl_s)
        for job in expired:
            shutil.rmtree(self.folder / job.job_id, ignore_errors=True)
            self.db.delete_job(job.job_id)
        return len(expired)

    @property
    def pending(self) -> int:
        return self._pending
