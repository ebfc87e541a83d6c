"""Queue, claim, run and recover jobs.

A job is a row in `jobs` first (written in the caller's transaction) and a huey message second
(sent after commit). A worker claims a row atomically before running it, so a message delivered
twice runs once. If a worker dies mid-job, its rows stay `running`; `recover()` (at worker
start and every minute) re-queues those whose worker is gone or whose lease ran out.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.db.engine import Database
from honorbound.jobs.models import Job, JobStatus
from honorbound.jobs.registry import JobRegistry

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger("honorbound.jobs")

RUN_TASK = "honorbound.run_job"
PENDING_KEY = "honorbound.pending_jobs"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_gone(worker: str) -> bool:
    """True when `worker` (a `worker_id()`) names a process on this host that no longer runs.
    A process on another host is never known to be gone (its lease decides)."""
    owner_host, _, pid = worker.rpartition(":")
    return owner_host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobQueue:
    def __init__(
        self,
        db: Database,
        huey: Huey,
        registry: JobRegistry,
        context: Any,
        lease_seconds: int = 300,
    ) -> None:
        self.db = db
        self.huey = huey
        self.registry = registry
        self.context = context
        self.lease = dt.timedelta(seconds=lease_seconds)
        self._task = huey.task(name=RUN_TASK)(self.run)

    # -- producing -----------------------------------------------------------------------
    def enqueue(
        self,
        session: Session,
        name: str,
        payload: dict[str, Any] | None = None,
        organization_id: int | None = None,
        run_after: dt.datetime | None = None,
        max_attempts: int = 5,
    ) -> Job:
        """Add a job in the caller's transaction; it is sent to workers after commit."""
        if name not in self.registry:
            raise LookupError(f"no handler for job {name!r}")
        job = Job(
            name=name,
            payload=dict(payload or {}),
            organization_id=organization_id,
            run_after=run_after or utcnow(),
            max_attempts=max_attempts,
        )
        session.add(job)
        session.flush()
        session.info.setdefault(PENDING_KEY, []).append((job.id, job.run_after))
        return job

    def after_commit(self, session: Session) -> None:
        """Send the jobs a committed transaction queued (hooked to the session factory).

        SQLAlchemy also fires this when a SAVEPOINT is released (the audit chain uses them);
        jobs wait for the outermost commit, or a worker could run before the data exists."""
        if session.in_nested_transaction():
            return
        pending = session.info.pop(PENDING_KEY, [])
        for job_id, run_after in pending:
            self._send(job_id, run_after)

    def after_rollback(self, session: Session) -> None:
        session.info.pop(PENDING_KEY, None)

    def _send(self, job_id: int, run_after: dt.datetime | None = None) -> None:
        delay = 0.0
        if run_after is not None:
            delay = max(0.0, (run_after - utcnow()).total_seconds())
        try:
            if delay > 0:
                self._task.schedule(args=(job_id,), delay=delay)
            else:
                self._task(job_id)
        except Exception:  # the row is durable; recover() sends it again
            log.exception("could not send job to the queue", extra={"job_id": job_id})

    # -- consuming -----------------------------------------------------------------------
    def _claim(self, job_id: int) -> Job | None:
        now = utcnow()
        with self.db.session() as session:
            claimed = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.run_after <= now,
                    or_(
                        Job.status == JobStatus.QUEUED,
                        (Job.status == JobStatus.RUNNING) & (Job.lease_until < now),
                    ),
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    started_at=now,
                    lease_until=now + self.lease,
                    worker=worker_id(),
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return session.get(Job, job_id)

    def run(self, job_id: int) -> str:
        """Run one job if it can be claimed. Returns its final status (or 'skipped')."""
        job = self._claim(job_id)
        if job is None:
            return "skipped"
        handler = self.registry.handler(job.name)
        try:
            result = handler(self.context, dict(job.payload))
        except Exception as exc:
            log.warning(
                "job failed",
                extra={"job_id": job.id, "job": job.name, "error": type(exc).__name__},
            )
            return self._failed(job, exc)
        with self.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status=JobStatus.DONE, finished_at=utcnow(), lease_until=None, result=result
                )
            )
        log.info("job done", extra={"job_id": job.id, "job": job.name})
        return JobStatus.DONE

    def _failed(self, job: Job, exc: Exception) -> str:
        final = job.attempts >= job.max_attempts
        retry_at = utcnow() + dt.timedelta(seconds=min(3600, 5 * 2**job.attempts))
        with self.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status=JobStatus.FAILED if final else JobStatus.QUEUED,
                    run_after=retry_at,
                    lease_until=None,
                    finished_at=utcnow() if final else None,
                    last_error=f"{type(exc).__name__}: {str(exc)[:500]}",
                )
            )
        if not final:
            self._send(job.id, retry_at)
        return JobStatus.FAILED if final else JobStatus.QUEUED

    # -- recovery ------------------------------------------------------------------------
    def recover(self, stale_after: dt.timedelta = dt.timedelta(seconds=30)) -> int:
        """Send again what a crash left behind. Returns how many jobs were re-sent."""
        now = utcnow()
        resend: list[tuple[int, dt.datetime]] = []
        with self.db.session() as session:
            running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
            for job in running:
                dead = process_gone(job.worker)
                expired = job.lease_until is not None and job.lease_until < now
                if dead or expired:
                    job.status = JobStatus.QUEUED
                    job.lease_until = None
                    resend.append((job.id, now))
            queued = session.scalars(
                # Overdue by more than `stale_after`: its message was lost or never sent.
                select(Job).where(Job.status == JobStatus.QUEUED, Job.run_after < now - stale_after)
            ).all()
            resend.extend((job.id, job.run_after) for job in queued)
        for job_id, run_after in resend:
            self._send(job_id, run_after)
        if resend:
            log.info("jobs re-sent after recovery", extra={"count": len(resend)})
        return len(resend)
