"""A job queued before a crash runs after restart: a real worker process is killed mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from honorbound.config import Settings
from honorbound.runtime import build_runtime


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "HONORBOUND_DATABASE_URL": settings.database_url,
        "HONORBOUND_MASTER_KEY": settings.master_key,
        "HONORBOUND_DATA_DIR": str(settings.data_dir),
        "HONORBOUND_LOG_LEVEL": "WARNING",
    }


def _job(settings: Settings, job_id: int) -> tuple[str, int]:
    rt = build_runtime(settings)
    with rt.db.session() as session:
        row = session.execute(
            text("SELECT status, attempts FROM jobs WHERE id=:i"), {"i": job_id}
        ).one()
    rt.close()
    return row.status, row.attempts


def _wait(settings: Settings, job_id: int, status: str, timeout: float = 30) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    current = _job(settings, job_id)
    while current[0] != status and time.monotonic() < deadline:
        time.sleep(0.2)
        current = _job(settings, job_id)
    return current


@pytest.mark.timeout(120)
def test_job_survives_worker_kill(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt = build_runtime(settings)  # real SQLite huey queue in data_dir
    with rt.db.session() as session:
        job = rt.jobs.enqueue(session, "system.probe", {"sleep": 3})
    rt.close()
    job_id = job.id
    # Queued while no worker runs.
    assert _job(settings, job_id) == ("queued", 0)

    first = subprocess.Popen([sys.executable, "-m", "honorbound", "worker"], env=_env(settings))
    try:
        assert _wait(settings, job_id, "running")[0] == "running"
        first.send_signal(signal.SIGKILL)  # crash mid-job
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert _job(settings, job_id) == ("running", 1)

    second = subprocess.Popen([sys.executable, "-m", "honorbound", "worker"], env=_env(settings))
    try:
        status, attempts = _wait(settings, job_id, "done", timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    assert (status, attempts) == ("done", 2)


def test_job_queued_without_worker_runs_when_worker_starts(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt = build_runtime(settings)
    with rt.db.session() as session:
        job = rt.jobs.enqueue(session, "system.probe", {"sleep": 0})
    rt.close()
    worker = subprocess.Popen([sys.executable, "-m", "honorbound", "worker"], env=_env(settings))
    try:
        assert _wait(settings, job.id, "done")[0] == "done"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)


def test_duplicate_delivery_runs_once(settings: Settings) -> None:
    rt = build_runtime(settings, immediate_jobs=True)
    with rt.db.session() as session:
        job = rt.jobs.enqueue(session, "system.probe", {"sleep": 0})
    assert rt.jobs.run(job.id) == "skipped"  # already done by the immediate run
    assert _job(settings, job.id) == ("done", 1)
    rt.close()


def test_unknown_job_name_is_refused(settings: Settings) -> None:
    rt = build_runtime(settings, immediate_jobs=True)
    with rt.db.session() as session, pytest.raises(LookupError, match="no handler"):
        rt.jobs.enqueue(session, "no.such.job")
    rt.close()


def test_jobs_wait_for_the_outermost_commit_not_a_savepoint(runtime, tenant) -> None:  # type: ignore[no-untyped-def]
    from honorbound.audit import Actor, append
    from honorbound.jobs.models import Job
    from honorbound.jobs.queue import PENDING_KEY

    with runtime.db.session() as session:
        job = runtime.jobs.enqueue(session, "system.probe", {"seconds": 0})
        append(session, tenant.id, Actor.system(), "test.savepoint")  # releases a SAVEPOINT
        assert [job_id for job_id, _ in session.info.get(PENDING_KEY, [])] == [job.id]
        job_id = job.id
    with runtime.db.session() as session:
        assert session.get(Job, job_id).status == "done"  # sent (and run) after the commit
