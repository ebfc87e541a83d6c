"""Card data found in stored recordings becomes an incident to work, not a report line.

PCI DSS 12.10.7 asks for incident response procedures that start when stored card data is
found where it is not expected: retrieve it, securely delete or migrate it, find the root
cause. Each incident of the PCI report (`report.build`) opens one draft breach incident
(`honorbound.breach.incidents.create_incident`, status `open`) naming the recording and the
requirement, never the data, so it sits on the staff's incident list with its owner and
deadlines like any other. The recording folder keeps the incident's id (`incidents.json`), so
the next run does not open it twice; deleting the recording (the remediation) removes that too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.breach.incidents import create_incident
from honorbound.recordings.report import Incident, PciReport
from honorbound.recordings.store import RecordingStore

MARKER = "incidents.json"
DEFAULT_OWNER = "privacy officer (opened by the recordings PCI check)"
CARD_CATEGORY = "user.financial.credit_card"


def _opened(store: RecordingStore, recording_id: str) -> dict[str, int]:
    try:
        doc = store.read_json(recording_id, MARKER)
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in doc.items()} if isinstance(doc, dict) else {}


def _remember(store: RecordingStore, recording_id: str, opened: dict[str, int]) -> None:
    store.write_json(recording_id, MARKER, opened)


def _values(incident: Incident, now: dt.datetime, owner: str) -> dict[str, Any]:
    return {
        "title": f"Card data in stored call recording {incident.recording_id}"[:200],
        "description": (
            f"The recordings PCI check found: {incident.what} (PCI DSS {incident.requirement}). "
            f"Recording {incident.recording_id}. Retrieve, securely delete or migrate it, and "
            "find why redaction let it through (PCI DSS 12.10.7)."
        ),
        "discovered_at": now,
        "systems": ["recordings"],
        "categories": [CARD_CATEGORY],
        "encrypted": incident.requirement == "3.3.1.2",
        "owner": owner,
    }


def open_incidents(
    session: Session,
    organization_id: int,
    store: RecordingStore,
    report: PciReport,
    actor: Actor,
    *,
    owner: str = DEFAULT_OWNER,
    now: dt.datetime | None = None,
) -> list[int]:
    """Open a draft breach incident for each incident of `report` not opened before; the ids
    of the ones opened now. Each report incident also gets `incident_id` set."""
    when = now or dt.datetime.now(dt.UTC)
    new: list[int] = []
    for found in report.incidents:
        opened = _opened(store, found.recording_id)
        key = f"{found.requirement}:{found.what}"
        if key in opened:
            found.incident_id = opened[key]
            continue
        incident = create_incident(session, organization_id, _values(found, when, owner), actor)
        opened[key] = incident.id
        found.incident_id = incident.id
        new.append(incident.id)
        _remember(store, found.recording_id, opened)
    return new
