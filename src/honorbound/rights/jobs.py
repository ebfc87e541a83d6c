"""Job handlers of the rights package, registered by `honorbound.runtime.build_registry`.

Each takes the runtime (duck-typed: keys, vault_keys, jobs, db, settings) and a JSON payload.
"""

from __future__ import annotations

from typing import Any

from honorbound.audit import Actor
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


def services(rt: Any) -> Services:
    return Services.build(rt.keys, rt.vault_keys, rt.jobs, rt.settings.base_url)


def execute_job(rt: Any, payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        outcome = execute(
            session,
            services(rt),
            int(payload["organization_id"]),
            int(payload["request_id"]),
            Actor.system(),
        )
    return {"outcome": outcome}


def sweep_job(rt: Any, _payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        result = sweep(session, services(rt))
    return {
        "reminders": result.reminders,
        "denied_unverified": result.denied_unverified,
        "handled_as_categories": result.downgraded,
    }


def purge_job(rt: Any, _payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        return {"purged": purge_records(session)}
