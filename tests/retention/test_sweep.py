from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.retention.certificates import (
    CertificateError,
    document,
    ids_digest,
    load_public_key,
    public_key_pem,
    verify_document,
)
from honorbound.retention.due import forecast
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.holds import list_holds, place_hold, release_hold
from honorbound.retention.models import DisposalEntry, LegalHold, RetentionRun
from honorbound.retention.sweep import sweep
from honorbound.retention.withdrawals import record_withdrawal
from honorbound.runtime import Runtime
from honorbound.vault.models import Interaction, Record, Subject
from tests.conftest import Tenant
from tests.retention.factory import (
    ADMIN,
    add_interaction,
    add_records,
    add_subject,
    adopt,
    days_ago,
)

REC = "user.contact_center.call_recording"
REC_STEP = f"recordings:after_collection:{REC}"


def _run(runtime: Runtime, org: int, **kwargs: object) -> object:
    return sweep(runtime.db, runtime.keys, runtime.vault_keys, org, Actor.system(), **kwargs)  # type: ignore[arg-type]


def _count(runtime: Runtime, org: int, **filters: object) -> int:
    with runtime.db.session() as session:
        query = select(func.count()).select_from(Record).where(Record.organization_id == org)
        for name, value in filters.items():
            query = query.where(getattr(Record, name) == value)
        return int(session.scalar(query) or 0)


def _entries(runtime: Runtime, org: int) -> list[DisposalEntry]:
    with runtime.db.session() as session:
        rows = list(
            session.scalars(
                select(DisposalEntry)
                .where(DisposalEntry.organization_id == org)
                .order_by(DisposalEntry.id)
            )
        )
        session.expunge_all()
        return rows


def test_without_a_declaration_the_sweep_refuses(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(RetentionInputError) as caught:
        _run(runtime, tenant.id)
    assert caught.value.field == "policy"
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RetentionRun)) == 0


def test_dry_run_counts_what_is_due_and_writes_nothing(runtime: Runtime, tenant: Tenant) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    b = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(200), days_ago(100), days_ago(10)])
    add_records(runtime, tenant.id, b, REC, [days_ago(95)])
    with runtime.db.session() as session:
        result = forecast(session, tenant.id)
    step = next(
        s for s in result.steps if s.rule_id == "recordings" and s.action == "delete_records"
    )
    assert (step.records, step.subjects) == (3, 2)
    assert step.oldest is not None and abs((step.oldest - days_ago(200)).total_seconds()) < 1
    assert [n.trigger for n in result.not_enforced] == ["while_necessary"]
    assert _count(runtime, tenant.id) == 4
    assert _entries(runtime, tenant.id) == []


def test_sweep_deletes_due_records_in_batches_with_signed_certificates(
    runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    old = add_records(runtime, tenant.id, a, REC, [days_ago(100 + i) for i in range(7)])
    add_records(runtime, tenant.id, a, REC, [days_ago(5), days_ago(89)])
    result = _run(runtime, tenant.id, record_batch=3)
    assert (result.records, result.batches) == (7, 3)  # type: ignore[attr-defined]
    with runtime.db.session() as session:
        left = set(session.scalars(select(Record.id).where(Record.organization_id == tenant.id)))
    assert left.isdisjoint(old) and len(left) == 2
    entries = _entries(runtime, tenant.id)
    assert [e.records for e in entries] == [3, 3, 1]
    assert all(e.categories == {REC: e.records} and e.rule_id == "recordings" for e in entries)
    public = load_public_key(public_key_pem(runtime.keys, tenant.id))
    for entry in entries:
        cert = verify_document(document(entry.certificate, entry.signature), public)
        assert cert["records"] == entry.records and cert["run_id"] == entry.run_id
    # Altering any figure breaks the signature.
    doc = document(entries[0].certificate, entries[0].signature)
    doc["certificate"]["records"] = 2
    with pytest.raises(CertificateError, match="altered"):
        verify_document(doc, public)
    # Another organization's key does not verify it.
    with pytest.raises(CertificateError, match="another key"):
        verify_document(
            document(entries[0].certificate, entries[0].signature),
            load_public_key(public_key_pem(runtime.keys, tenant.id + 1)),
        )
    # A second sweep finds nothing more.
    again = _run(runtime, tenant.id)
    assert (again.records, again.batches, again.resumed) == (0, 0, False)  # type: ignore[attr-defined]


def test_batches_go_in_id_order_whatever_the_dates(runtime: Runtime, tenant: Tenant) -> None:
    """Due records stored out of date order (imports, backfills): each batch takes the next
    ids, and its certificate names the batch's own oldest and newest collection times."""
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    ages = [300, 5, 120, 95, 40, 200, 91, 10, 150]
    ids = add_records(runtime, tenant.id, a, REC, [days_ago(d) for d in ages])
    due = [(i, d) for i, d in zip(ids, ages, strict=True) if d > 90]
    result = _run(runtime, tenant.id, record_batch=2)
    assert (result.records, result.batches) == (6, 3)  # type: ignore[attr-defined]
    assert _count(runtime, tenant.id) == 3
    entries = _entries(runtime, tenant.id)
    for n, entry in enumerate(entries):
        batch = due[2 * n : 2 * n + 2]
        cert = json.loads(entry.certificate)
        assert cert["record_ids_sha256"] == ids_digest([i for i, _ in batch])
        oldest, newest = days_ago(max(d for _, d in batch)), days_ago(min(d for _, d in batch))
        assert (
            abs((dt.datetime.fromisoformat(cert["collected_from"]) - oldest).total_seconds()) < 60
        )
        assert abs((dt.datetime.fromisoformat(cert["collected_to"]) - newest).total_seconds()) < 60
    with runtime.db.session() as session:
        run = session.get(RetentionRun, entries[0].run_id)
        assert run is not None and run.progress[REC_STEP] == due[-1][0]


def test_a_run_left_with_a_date_cursor_resumes_from_the_first_id(
    runtime: Runtime, tenant: Tenant
) -> None:
    """Runs started before batches went in id order kept a collection time as their cursor."""
    version = adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(d) for d in (100, 200, 10, 150)])
    assert _run(runtime, tenant.id, record_batch=1).records == 3  # type: ignore[attr-defined]
    with runtime.db.session() as session:
        session.add(
            RetentionRun(
                organization_id=tenant.id,
                policy_version_id=version.version_id,
                as_of=days_ago(0),
                status="running",
                progress={REC_STEP: days_ago(120).isoformat()},
                summary={},
            )
        )
    add_records(runtime, tenant.id, a, REC, [days_ago(d) for d in (130, 95, 5)])
    again = _run(runtime, tenant.id)
    assert again.resumed and again.records == 2  # type: ignore[attr-defined]
    assert _count(runtime, tenant.id) == 2


def test_dormant_prospects_are_crypto_shredded(runtime: Runtime, tenant: Tenant) -> None:
    adopt(runtime, tenant.id)
    gone = add_subject(runtime, tenant.id, "prospect", last_activity=days_ago(400))
    kept = add_subject(runtime, tenant.id, "prospect", last_activity=days_ago(300))
    add_records(runtime, tenant.id, gone, "user.contact.email", [days_ago(500), days_ago(450)])
    add_records(runtime, tenant.id, kept, "user.contact.email", [days_ago(500)])
    with runtime.db.session() as session:
        gone_key = session.get(Subject, gone).key_id  # type: ignore[union-attr]
    result = _run(runtime, tenant.id)
    assert (result.subjects, result.records) == (1, 2)  # type: ignore[attr-defined]
    with runtime.db.session() as session:
        assert session.get(Subject, gone).status == "erased"  # type: ignore[union-attr]
        assert session.get(Subject, kept).status == "active"  # type: ignore[union-attr]
    assert not runtime.vault_keys.has_data_key(tenant.id, gone_key)
    assert _count(runtime, tenant.id, subject_id=gone) == 0
    assert _count(runtime, tenant.id, subject_id=kept) == 1
    (entry,) = _entries(runtime, tenant.id)
    assert (entry.action, entry.subjects, entry.categories) == (
        "erase_subjects",
        1,
        {"user.contact.email": 2},
    )


def test_a_rule_for_some_categories_deletes_those_and_keeps_the_subject(
    runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    dormant = add_subject(runtime, tenant.id, "customer", last_activity=days_ago(7 * 365))
    add_records(runtime, tenant.id, dormant, "user.contact.email", [days_ago(3000)])
    add_records(runtime, tenant.id, dormant, "user.biometric.health", [days_ago(3000)])
    add_records(runtime, tenant.id, dormant, REC, [days_ago(30)])  # another rule: 90 days
    _run(runtime, tenant.id)
    with runtime.db.session() as session:
        cats = list(session.scalars(select(Record.category).where(Record.subject_id == dormant)))
        assert session.get(Subject, dormant).status == "active"  # type: ignore[union-attr]
    assert cats == [REC]


def test_holds_stop_disposal_until_released(runtime: Runtime, tenant: Tenant) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    b = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(100), days_ago(300)])
    add_records(runtime, tenant.id, b, REC, [days_ago(100), days_ago(300)])
    with runtime.db.session() as session:
        by_subject = place_hold(
            session, tenant.id, ADMIN, reason="case 24-117", owner="legal", subject_id=a
        ).id
        by_time = place_hold(
            session,
            tenant.id,
            ADMIN,
            reason="regulator inquiry",
            owner="dpo",
            category="user.contact_center",
            collected_from=days_ago(310),
            collected_to=days_ago(290),
        ).id
    with runtime.db.session() as session:
        step = next(
            s
            for s in forecast(session, tenant.id).steps
            if s.rule_id == "recordings" and s.action == "delete_records"
        )
    assert (step.records, step.held_back) == (1, 3)
    _run(runtime, tenant.id)
    assert _count(runtime, tenant.id, subject_id=a) == 2
    assert _count(runtime, tenant.id, subject_id=b) == 1  # the 300-day one is held by time
    (entry,) = _entries(runtime, tenant.id)
    assert entry.hold_exclusions == {"holds": [by_subject, by_time], "held_back": 3}
    with runtime.db.session() as session:
        release_hold(session, tenant.id, by_subject, ADMIN, "case settled")
    _run(runtime, tenant.id)
    assert _count(runtime, tenant.id, subject_id=a) == 1
    with runtime.db.session() as session:
        release_hold(session, tenant.id, by_time, ADMIN, "inquiry closed")
        assert list_holds(session, tenant.id) == []
    _run(runtime, tenant.id)
    assert _count(runtime, tenant.id) == 0


def test_an_organization_hold_stops_everything_including_erasure(
    runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    gone = add_subject(runtime, tenant.id, "prospect", last_activity=days_ago(400))
    add_records(runtime, tenant.id, gone, "user.contact.email", [days_ago(500)])
    with runtime.db.session() as session:
        place_hold(session, tenant.id, ADMIN, reason="merger due diligence", owner="gc")
    result = _run(runtime, tenant.id)
    assert result.records == 0 and result.held_back["prospects:after_last_activity:prospect"] == 1  # type: ignore[attr-defined]
    with runtime.db.session() as session:
        assert session.get(Subject, gone).status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": " ", "owner": "legal"}, "reason"),
        ({"reason": "x", "owner": ""}, "owner"),
        ({"reason": "x", "owner": "o", "category": "User Contact"}, "category"),
        ({"reason": "x", "owner": "o", "subject_id": 999999}, "subject_id"),
        (
            {
                "reason": "x",
                "owner": "o",
                "collected_from": days_ago(1),
                "collected_to": days_ago(2),
            },
            "collected_to",
        ),
    ],
)
def test_bad_holds_name_the_field_and_write_nothing(
    runtime: Runtime, tenant: Tenant, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(RetentionInputError) as caught, runtime.db.session() as session:
        place_hold(session, tenant.id, ADMIN, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LegalHold)) == 0


def test_applicants_are_kept_for_future_openings_until_they_ask_otherwise(
    runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    kept = add_subject(runtime, tenant.id, "job-applicant", last_activity=days_ago(2000))
    asked_long_ago = add_subject(runtime, tenant.id, "job-applicant", last_activity=days_ago(2000))
    asked_recently = add_subject(runtime, tenant.id, "job-applicant", last_activity=days_ago(900))
    for subject in (kept, asked_long_ago, asked_recently):
        add_records(
            runtime, tenant.id, subject, "user.employment_history", [days_ago(1000), days_ago(100)]
        )
    with runtime.db.session() as session:
        record_withdrawal(session, tenant.id, asked_long_ago, ADMIN, "email", asked_at=days_ago(40))
        record_withdrawal(session, tenant.id, asked_recently, ADMIN, "email", asked_at=days_ago(5))
        _, created = record_withdrawal(session, tenant.id, asked_recently, ADMIN, "email")
        assert not created
    _run(runtime, tenant.id)
    with runtime.db.session() as session:
        status = {s: session.get(Subject, s).status for s in (kept, asked_long_ago, asked_recently)}  # type: ignore[union-attr]
    # Not asked: everything kept, however old. Asked 40 days ago: 30 days passed, erased.
    # Asked 5 days ago: the applicants' rule applies (records over two years old go).
    assert status == {kept: "active", asked_long_ago: "erased", asked_recently: "active"}
    assert _count(runtime, tenant.id, subject_id=kept) == 2
    assert _count(runtime, tenant.id, subject_id=asked_recently) == 1
    with pytest.raises(RetentionInputError) as caught, runtime.db.session() as session:
        record_withdrawal(session, tenant.id, kept, ADMIN, "carrier pigeon")
    assert caught.value.field == "source"


def test_the_run_and_log_hold_no_personal_values(runtime: Runtime, tenant: Tenant) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(100)], value="Secret Street 12")
    _run(runtime, tenant.id)
    (entry,) = _entries(runtime, tenant.id)
    text = json.dumps(document(entry.certificate, entry.signature))
    assert "Secret" not in text and "record_ids_sha256" in text


def test_old_call_recordings_are_dropped_from_interactions_and_transcripts_kept(
    runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    a = add_subject(runtime, tenant.id)
    old_call = add_interaction(runtime, tenant.id, a, days_ago(120))
    held_call = add_interaction(runtime, tenant.id, a, days_ago(200))
    new_call = add_interaction(runtime, tenant.id, a, days_ago(10))
    chat = add_interaction(runtime, tenant.id, a, days_ago(300), channel="chat", recording=False)
    with runtime.db.session() as session:
        hold = place_hold(
            session,
            tenant.id,
            ADMIN,
            reason="complaint",
            owner="dpo",
            category="user.contact_center.call_recording",
            collected_to=days_ago(150),
        ).id
        step = next(
            s for s in forecast(session, tenant.id).steps if s.action == "clear_interaction_part"
        )
    assert (step.records, step.held_back) == (1, 1)
    _run(runtime, tenant.id)
    with runtime.db.session() as session:
        rows = {i: session.get(Interaction, i) for i in (old_call, held_call, new_call, chat)}
        assert rows[old_call].recording_uri_sealed is None  # type: ignore[union-attr]
        assert rows[old_call].recording_sha256 is None  # type: ignore[union-attr]
        assert rows[old_call].body_sealed is not None  # type: ignore[union-attr]  # transcript kept
        assert rows[held_call].recording_uri_sealed is not None  # type: ignore[union-attr]
        assert rows[new_call].recording_uri_sealed is not None  # type: ignore[union-attr]
        assert rows[chat].body_sealed is not None  # type: ignore[union-attr]
    entry = next(e for e in _entries(runtime, tenant.id) if e.action == "clear_interaction_part")
    assert entry.categories == {"user.contact_center.call_recording": 1}
    assert entry.hold_exclusions == {"holds": [hold], "held_back": 1}
