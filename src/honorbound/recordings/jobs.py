"""The recording store's scheduled work, as durable jobs registered by
`honorbound.runtime.build_registry` (like the retention and rights sweeps):

* `recordings.sweep` (daily): every organization that has adopted a notice has its stored
  recordings past the notice's `after_collection` rule for call recordings deleted
  (`retention.sweep`), unidentified callers' calls (no vault subject) included; one audit entry
  `recordings.swept` per organization, counts only.
* `recordings.pci_check` (daily): the PCI DSS report of every organization's store; card data
  found in a stored recording opens a draft breach incident (`incidents.open_incidents`).

The handlers take the job context (`RulesJobContext`: settings, db, rules) and a JSON payload
naming one organization, or none for all of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from honorbound.audit import Actor
from honorbound.jobs.context import JobContext
from honorbound.policy import store as policy_store
from honorbound.policy.context import RulesJobContext
from honorbound.recordings import incidents, report, retention
from honorbound.recordings.store import RecordingStore
from honorbound.retention.sweep import organizations_with_policy

SWEEP_JOB = "recordings.sweep"
PCI_JOB = "recordings.pci_check"

log = logging.getLogger(__name__)


def _organizations(rt: JobContext, payload: dict[str, Any]) -> list[int]:
    if payload.get("organization_id") is not None:
        return [int(payload["organization_id"])]
    with rt.db.session() as session:
        return organizations_with_policy(session)


def _store(rt: JobContext, organization_id: int) -> RecordingStore:
    return RecordingStore.for_organization(rt.settings.recordings_store, organization_id)


def sweep_job(rt: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    totals = {"organizations": 0, "due": 0, "deleted": 0, "unreadable": 0, "originals_deleted": 0}
    for organization_id in _organizations(rt, payload):
        with rt.db.session() as session:
            adopted = policy_store.current(session, organization_id)
            if adopted is None:
                continue
            result = retention.sweep(_store(rt, organization_id), adopted.declaration, now)
            retention.record_sweep(session, rt.keys, organization_id, Actor.system(), result, now)
        totals["organizations"] += 1
        totals["due"] += len(result.due)
        totals["deleted"] += result.deleted
        totals["unreadable"] += result.unreadable
        totals["originals_deleted"] += len(result.originals_deleted)
    return totals


def pci_job(rt: RulesJobContext, payload: dict[str, Any]) -> dict[str, Any]:
    totals = {"organizations": 0, "recordings": 0, "incidents": 0, "opened": 0}
    for organization_id in _organizations(rt, payload):
        store = _store(rt, organization_id)
        if not store.recording_ids():
            continue
        found = report.build(store, rt.rules, audio_check=bool(payload.get("audio", False)))
        with rt.db.session() as session:
            opened = incidents.open_incidents(
                session, organization_id, store, found, Actor.system()
            )
        if opened:
            log.warning(
                "recordings PCI check: %d incident(s) opened in organization %s",
                len(opened),
                organization_id,
            )
        totals["organizations"] += 1
        totals["recordings"] += found.recordings
        totals["incidents"] += len(found.incidents)
        totals["opened"] += len(opened)
    return totals
