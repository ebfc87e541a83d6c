"""The recording store's scheduled jobs: the retention sweep (unidentified callers' calls
included) and the PCI check that opens a draft breach incident for card data found in a
stored recording (PCI DSS 12.10.7). Checked on disk and in the breach tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from faker import Faker
from sqlalchemy import select

from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.breach.models import Incident
from honorbound.policy.store import adopt_text
from honorbound.recordings import jobs
from honorbound.recordings.ingest import ingest
from honorbound.recordings.store import RecordingStore
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.recordings import synth
from tests.recordings.test_retention import DECLARATION


def _daily(runtime: Runtime, name: str) -> None:
    assert name in runtime.registry
    (periodic,) = [p for p in runtime.registry.periodic if p.name == name]
    assert periodic.hour != "*" and periodic.minute != "*"


def test_the_sweep_is_a_daily_job_that_deletes_unidentified_callers_calls(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, card_call: synth.Call
) -> None:
    _daily(runtime, jobs.SWEEP_JOB)
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, DECLARATION, Actor("test", "system"))
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    wav = card_call.write(tmp_path / "c.wav")
    now = dt.datetime.now(dt.UTC)
    # No subject: an unidentified caller. Still redacted at ingest, still swept.
    old = ingest(store, wav, card_call.aws_json().encode(), now=now - dt.timedelta(days=91))
    young = ingest(store, wav, card_call.aws_json().encode(), now=now - dt.timedelta(days=3))
    assert old.manifest["subject_id"] is None and old.manifest["findings"] == {"CREDIT_CARD": 1}
    result = jobs.sweep_job(runtime, {})  # other_tenant adopted nothing: skipped
    assert result == {
        "organizations": 1,
        "due": 1,
        "deleted": 1,
        "unreadable": 0,
        "originals_deleted": 0,
    }
    assert not old.path.exists() and young.path.exists()
    with runtime.db.session() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "recordings.swept")
        )
        assert entry.organization_id == tenant.id and entry.details["deleted"] == 1


def test_card_data_in_a_stored_recording_opens_one_draft_breach_incident(
    runtime: Runtime, tenant: Tenant, tmp_path: Path, card_call: synth.Call
) -> None:
    _daily(runtime, jobs.PCI_JOB)
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    wav = card_call.write(tmp_path / "c.wav")
    clean = ingest(store, wav, card_call.aws_json().encode())
    leaked = ingest(store, wav, card_call.aws_json().encode())
    # A card number that reached the store (an older version's or a missed finding): written
    # into the stored transcript here, as the bytes on disk.
    fake = Faker()
    fake.seed_instance(9)
    digits = fake.credit_card_number(card_type="visa16")
    path = leaked.path / "transcript.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["words"].append({"text": digits, "start": 1.0, "end": 2.0, "speaker": None, "channel": 1})
    path.write_text(json.dumps(doc), encoding="utf-8")

    first = jobs.pci_job(runtime, {"organization_id": tenant.id})
    assert first == {"organizations": 1, "recordings": 2, "incidents": 1, "opened": 1}
    with runtime.db.session() as session:
        (incident,) = session.scalars(select(Incident).where(Incident.organization_id == tenant.id))
        assert incident.status == "open" and incident.discovered_at is not None
        assert leaked.recording_id in incident.title and "12.10.7" in incident.description
        assert clean.recording_id not in incident.title + incident.description
        assert digits not in incident.title + incident.description  # names no card data
        assert incident.categories == ["user.financial.credit_card"]
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "breach.incident_recorded")
        ).all()
        assert [a.object_id for a in audit] == [str(incident.id)]
    # The next run reports it again but opens no second incident.
    again = jobs.pci_job(runtime, {"organization_id": tenant.id})
    assert again == {"organizations": 1, "recordings": 2, "incidents": 1, "opened": 0}
    with runtime.db.session() as session:
        assert len(session.scalars(select(Incident)).all()) == 1
