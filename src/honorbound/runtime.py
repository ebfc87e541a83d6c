"""The composition root: settings -> database, keys, job queue and transports, wired once.

Adapters (API, web, CLI, worker) build one `Runtime` and pass its parts down. Domain code never
reads settings itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.api import crontab
from sqlalchemy import event

from honorbound.config import Settings
from honorbound.crypto.keyring import KeyRing
from honorbound.crypto.keys import read_key_file
from honorbound.db.engine import Database
from honorbound.jobs import JobQueue, JobRegistry, Periodic
from honorbound.notify import outbox
from honorbound.notify.outbox import Transport
from honorbound.notify.smtp import SmtpTransport


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key:
        return bytes.fromhex(settings.master_key)
    return read_key_file(settings.resolved_master_key_file)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keys: KeyRing
    registry: JobRegistry
    huey: Huey
    jobs: JobQueue
    transports: dict[str, Transport] = field(default_factory=dict)

    def close(self) -> None:
        self.db.dispose()


# -- job handlers (each a thin call into a domain function) ---------------------------------
def _deliver(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        status = outbox.deliver(session, rt.keys, rt.transports, int(payload["message_id"]))
    return {"status": status}


def _flush_outbox(rt: Runtime, _payload: dict[str, Any]) -> dict[str, Any]:
    if not rt.transports:
        return {"sent": 0}
    sent = 0
    with rt.db.session() as session:
        ids = outbox.pending_ids(session)
    for message_id in ids:
        with rt.db.session() as session:
            if outbox.deliver(session, rt.keys, rt.transports, message_id) == "sent":
                sent += 1
    return {"sent": sent}


def _recover(rt: Runtime, _payload: dict[str, Any]) -> dict[str, Any]:
    return {"resent": rt.jobs.recover()}


def _probe(_rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """Diagnostic job: sleeps, then reports. `honorbound jobs probe` checks a worker with it."""
    seconds = float(payload.get("sleep", 0))
    time.sleep(min(max(seconds, 0.0), 600.0))
    return {"slept": seconds, "finished_at": time.time()}


def build_registry() -> JobRegistry:
    registry = JobRegistry()
    registry.register(outbox.DELIVER_JOB, _deliver)
    registry.register("outbox.flush", _flush_outbox)
    registry.register("jobs.recover", _recover)
    registry.register("system.probe", _probe)
    registry.schedule(Periodic("outbox.flush", minute="*/5"))
    registry.schedule(Periodic("jobs.recover", minute="*"))
    return registry


def build_huey(settings: Settings, immediate: bool = False) -> Huey:
    if immediate:
        return MemoryHuey("honorbound", immediate=True)
    if settings.redis_url:
        return RedisHuey("honorbound", url=settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("honorbound", filename=str(settings.job_queue_file))


def build_runtime(settings: Settings, immediate_jobs: bool = False) -> Runtime:
    """Wire everything. `immediate_jobs` runs jobs in-process as they are queued (tests, CLI)."""
    db = Database(settings.resolved_database_url)
    keys = KeyRing(load_master_key(settings))
    registry = build_registry()
    huey = build_huey(settings, immediate_jobs)
    transports: dict[str, Transport] = {}
    if settings.smtp_url:
        transports["email"] = SmtpTransport(settings.smtp_url, settings.mail_from)
    runtime = Runtime(settings, db, keys, registry, huey, None, transports)  # type: ignore[arg-type]
    runtime.jobs = JobQueue(db, huey, registry, runtime, settings.job_lease_seconds)
    event.listen(db.sessions, "after_commit", runtime.jobs.after_commit)
    event.listen(db.sessions, "after_soft_rollback", lambda s, _t: runtime.jobs.after_rollback(s))
    return runtime


def register_periodic(runtime: Runtime) -> None:
    """Worker only: queue each scheduled job as a durable row when its time comes."""
    for periodic in runtime.registry.periodic:
        schedule = crontab(
            periodic.minute, periodic.hour, periodic.day, periodic.month, periodic.day_of_week
        )

        def queue_it(name: str = periodic.name) -> None:
            with runtime.db.session() as session:
                runtime.jobs.enqueue(session, name)

        runtime.huey.periodic_task(schedule, name=f"periodic.{periodic.name}")(queue_it)
