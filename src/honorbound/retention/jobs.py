"""The daily retention sweep as a durable job, registered by `honorbound.runtime.build_registry`.

The handler takes the job context (`VaultJobContext`: db, keys, vault_keys) and a JSON payload
naming one organization, or none for every organization that has adopted a declaration.
"""

from __future__ import annotations

import logging
from typing import Any

from honorbound.audit import Actor
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.sweep import SWEEP_JOB, organizations_with_policy, sweep
from honorbound.vault.context import VaultJobContext

__all__ = ["SWEEP_JOB", "sweep_job"]

log = logging.getLogger(__name__)


def sweep_job(rt: VaultJobContext, payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("organization_id") is not None:
        organizations = [int(payload["organization_id"])]
    else:
        with rt.db.session() as session:
            organizations = organizations_with_policy(session)
    totals = {"organizations": 0, "records": 0, "subjects": 0, "batches": 0}
    for organization_id in organizations:
        try:
            result = sweep(rt.db, rt.keys, rt.vault_keys, organization_id, Actor.system())
        except RetentionInputError as exc:
            log.warning("retention sweep skipped organization %s: %s", organization_id, exc)
            continue
        totals["organizations"] += 1
        totals["records"] += result.records
        totals["subjects"] += result.subjects
        totals["batches"] += result.batches
    return totals
