"""Job handlers of the rights package, registered by `honorbound.runtime.build_registry`.

Each takes the job context (`honorbound.jobs.context.JobContext`: the runtime's keys, vault keys,
jobs, database, settings and its one jurisdiction rules object) and a JSON payload.
"""

from __future__ import annotations

from typing import Any

from honorbound.audit import Actor
from honorbound.jobs.context import JobContext
from honorbound.rights.context import Services
from honorbound.rights.execution import execute
from honorbound.rights.sweep import PURGE_JOB, SWEEP_JOB, purge_records, sweep
from honorbound.rights.verification import EXECUTE_JOB

__all__ = [
    "EXECUTE_JOB",
    "PURGE_JOB",
    "SWEEP_JOB",
    "execute_job",
    "purge_job",
    "services",
    "sweep_job",
]


def services(rt: JobContext) -> Services:
    return Services.build(
        rt.keys,
        rt.vault_keys,
        rt.jobs,
        rt.settings.base_url,
        rt.rules,
        rt.settings.resolved_recordings_dir,
    )


def execute_job(rt: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        outcome = execute(
            session,
            services(rt),
            int(payload["organization_id"]),
            int(payload["request_id"]),
            Actor.system(),
        )
    return {"outcome": outcome}


def sweep_job(rt: JobContext, _payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        result = sweep(session, services(rt))
    return {
        "reminders": result.reminders,
        "denied_unverified": result.denied_unverified,
        "handled_as_categories": result.downgraded,
    }


def purge_job(rt: JobContext, _payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        return {"purged": purge_records(session)}
