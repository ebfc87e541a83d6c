"""Job handlers of the rights package, registered by `honorbound.runtime.build_registry`.

Each takes the rights job context (`RightsJobContext`: the runtime's keys, vault keys, jobs,
database, settings and its one jurisdiction rules object) and a JSON payload.
"""

from __future__ import annotations

from typing import Any, Protocol

from honorbound.audit import Actor
from honorbound.policy.context import RulesJobContext
from honorbound.rights.context import Services
from honorbound.rights.execution import execute
from honorbound.rights.outgoing import EXECUTE_JOB
from honorbound.rights.sweep import PURGE_JOB, SWEEP_JOB, purge_records, sweep
from honorbound.vault.context import VaultJobContext

__all__ = [
    "EXECUTE_JOB",
    "PURGE_JOB",
    "RightsJobContext",
    "SWEEP_JOB",
    "execute_job",
    "purge_job",
    "services",
    "sweep_job",
]


class RightsJobContext(VaultJobContext, RulesJobContext, Protocol):
    """The vault's key store and the jurisdiction rules, with the base job context."""


def services(rt: RightsJobContext) -> Services:
    return Services.build(
        rt.keys,
        rt.vault_keys,
        rt.jobs,
        rt.settings.base_url,
        rt.rules,
        rt.settings.recordings_store,
        rt.rule_book,
    )


def execute_job(rt: RightsJobContext, payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        outcome = execute(
            session,
            services(rt),
            int(payload["organization_id"]),
            int(payload["request_id"]),
            Actor.system(),
        )
    return {"outcome": outcome}


def sweep_job(rt: RightsJobContext, _payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        result = sweep(session, services(rt))
    return {
        "reminders": result.reminders,
        "denied_unverified": result.denied_unverified,
        "handled_as_categories": result.downgraded,
    }


def purge_job(rt: RightsJobContext, _payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        return {"purged": purge_records(session)}
