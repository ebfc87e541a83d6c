"""The daily full verification of every organization's audit chain, as a durable job
(registered by `honorbound.runtime.build_registry`)."""

from __future__ import annotations

import logging
from typing import Any

from honorbound.audit.chain import Actor, append
from honorbound.audit.checkpoints import (
    VERIFY_JOB,
    check_full_in_batches,
    organizations_with_entries,
)
from honorbound.jobs.context import JobContext

__all__ = ["VERIFY_JOB", "verify_job"]

log = logging.getLogger(__name__)


def verify_job(rt: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Full check of one organization's chain (payload `organization_id`, as the console's
    "verify the whole chain now" queues it) or of all (the daily run); each result is itself
    recorded in the chain (`audit.verified`)."""
    if payload.get("organization_id") is not None:
        organizations = [int(payload["organization_id"])]
    else:
        with rt.db.session() as session:
            organizations = organizations_with_entries(session)
    broken = 0
    for organization_id in organizations:
        status = check_full_in_batches(rt.db, organization_id)
        with rt.db.session() as session:
            append(
                session,
                organization_id,
                Actor.system(),
                "audit.verified",
                details={"full": True, "ok": status.ok, "entries": status.entries},
            )
        if not status.ok:
            broken += 1
            # No personal data: the problem names a sequence number and a row id.
            log.error("audit chain of organization %s is broken: %s", organization_id,
                      status.problem)  # fmt: skip
    return {"organizations": len(organizations), "broken": broken}
