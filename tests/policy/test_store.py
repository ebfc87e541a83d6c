"""Adopted versions: immutable, deduplicated by content, answering `purpose_allowed`, and a
material change announced through the outbox to the subjects it affects."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from faker import Faker
from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.config import Settings
from honorbound.jobs.models import Job, JobStatus
from honorbound.notify.models import OutboxMessage
from honorbound.policy import store
from honorbound.policy.models import PolicyVersion
from honorbound.runtime import Runtime, build_runtime
from honorbound.vault.identities import IdentityKind, blind_index, normalize
from honorbound.vault.models import Identity, Record, Subject
from honorbound.vault.sealing import seal_text
from tests.conftest import EXAMPLE_POLICIES, Tenant, adopt_example
from tests.support.smtp import SmtpSink

fake = Faker()
CC1 = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
ACTOR = Actor("user:1", "privacy_officer")


def _adopt(rt: Runtime, org_id: int, text: str) -> tuple[store.AdoptedPolicy, bool]:
    with rt.db.session() as session:
        return store.adopt_text(session, org_id, text, ACTOR, "cc1.yaml", jobs=rt.jobs)


def test_fixture_adopts_the_cc1_example(adopted_policy: store.AdoptedPolicy) -> None:
    assert adopted_policy.number == 1
    assert adopted_policy.declaration.organization.name == "Contact Center 1"
    assert len(adopted_policy.content_hash) == 64
    assert adopted_policy.material is False and adopted_policy.changes == []


def test_same_content_is_not_adopted_twice(runtime: Runtime, tenant: Tenant) -> None:
    first = adopt_example(runtime, tenant.id)
    # Comments and formatting do not change the content hash.
    again, created = _adopt(runtime, tenant.id, "# reformatted\n" + CC1)
    assert created is False and again.version_id == first.version_id
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 1


def test_versions_are_numbered_and_current_is_newest(runtime: Runtime, tenant: Tenant) -> None:
    adopt_example(runtime, tenant.id)
    second, created = _adopt(
        runtime, tenant.id, CC1.replace("effective_date: 2024-07-23", "effective_date: 2024-09-01")
    )
    assert created and second.number == 2 and second.material is False
    assert [c["kind"] for c in second.changes] == ["wording"]
    with runtime.db.session() as session:
        assert store.current(session, tenant.id).version_id == second.version_id  # type: ignore[union-attr]
        assert [v.number for v in store.versions(session, tenant.id)] == [1, 2]
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "policy.adopted")
        ).all()
        assert len(entries) == 2


def test_versions_are_per_organization(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = adopt_example(runtime, tenant.id)
    with runtime.db.session() as session:
        assert store.current(session, other_tenant.id) is None
        assert store.get_version(session, other_tenant.id, mine.version_id) is None
    theirs = adopt_example(runtime, other_tenant.id)
    assert theirs.number == 1 and theirs.version_id != mine.version_id


def test_invalid_declaration_adopts_nothing(runtime: Runtime, tenant: Tenant) -> None:
    broken = CC1.replace("use: analytics.reporting\n", "use: analytics.reportng\n")
    with pytest.raises(store.AdoptionError) as info:
        _adopt(runtime, tenant.id, broken)
    assert any(
        "data use 'analytics.reportng' is not in the taxonomy; did you mean 'analytics.reporting'?"
        in str(p)
        for p in info.value.problems
    )
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 0


def _record(rt: Runtime, org_id: int, version_id: int | None, category: str) -> Record:
    key_id = uuid.uuid4().hex
    dek = rt.vault_keys.create_data_key(org_id, key_id)
    with rt.db.session() as session:
        subject = Subject(organization_id=org_id, key_id=key_id, type="user")
        session.add(subject)
        session.flush()
        record = Record(
            organization_id=org_id,
            subject_id=subject.id,
            category=category,
            purposes=["support"],
            source="directly",
            policy_version_id=version_id,
            value_sealed=seal_text(dek, org_id, key_id, f"record:{category}", "x"),
        )
        session.add(record)
        session.flush()
        session.expunge(record)
    return record


def test_purpose_allowed_follows_the_version_data_was_collected_under(
    runtime: Runtime, tenant: Tenant
) -> None:
    v1 = adopt_example(runtime, tenant.id)
    email = _record(runtime, tenant.id, v1.version_id, "user.contact.email")
    health = _record(runtime, tenant.id, v1.version_id, "user.health_and_medical")
    # Version 2 starts using email addresses for SMS marketing (a new purpose: material).
    v2_text = CC1.replace(
        "  - id: marketing-email\n",
        "  - id: marketing-sms\n    name: SMS offers\n    use: marketing.communications.sms\n"
        "    categories: [user.contact]\n  - id: marketing-email\n",
    )
    v2, _ = _adopt(runtime, tenant.id, v2_text)
    later = _record(runtime, tenant.id, v2.version_id, "user.contact.email")
    orphan = _record(runtime, tenant.id, None, "user.contact.email")
    with runtime.db.session() as session:
        # Declared by purpose id, by data use, and by a child of a declared use.
        assert store.purpose_allowed(session, email, "marketing-email")
        assert store.purpose_allowed(session, email, "marketing.communications.email")
        assert store.purpose_allowed(session, health, "sensitive-services")
        # Not declared for that category in that version: needs fresh consent.
        assert not store.purpose_allowed(session, health, "marketing-email")
        assert not store.purpose_allowed(session, email, "marketing-sms")
        assert not store.purpose_allowed(session, email, "marketing.communications.sms")
        assert store.purpose_allowed(session, later, "marketing-sms")
        assert store.purpose_allowed(session, v2, "marketing-sms", category="user.contact.email")
        assert not store.purpose_allowed(session, v1, "marketing-sms", category="user.contact")
        assert not store.purpose_allowed(session, orphan, "support")
        with pytest.raises(ValueError, match="needs `category`"):
            store.purpose_allowed(session, v1, "support")


def _subject_with_email(rt: Runtime, org_id: int, subject_type: str, email: str) -> int:
    key_id = uuid.uuid4().hex
    dek = rt.vault_keys.create_data_key(org_id, key_id)
    value = normalize(IdentityKind.EMAIL, email)
    with rt.db.session() as session:
        subject = Subject(organization_id=org_id, key_id=key_id, type=subject_type)
        session.add(subject)
        session.flush()
        session.add(
            Identity(
                organization_id=org_id,
                subject_id=subject.id,
                kind="email",
                blind_index=blind_index(rt.vault_keys.blind_index_key(org_id), "email", value),
                value_sealed=seal_text(dek, org_id, key_id, "identity:email", value),
            )
        )
        return subject.id


def test_material_change_is_recorded_and_mailed_to_affected_subjects(
    settings: Settings, smtp: SmtpSink, tenant: Tenant, tmp_path: Path
) -> None:
    rt = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}), immediate_jobs=True)
    try:
        adopt_example(rt, tenant.id)
        # Faker directly, not tests.support.people: the test SMTP server (aiosmtpd) logs
        # recipients at DEBUG, which the session-end personal-data check would flag.
        user_email, visitor_email = fake.unique.email(), fake.unique.email()
        _subject_with_email(rt, tenant.id, "user", user_email)
        _subject_with_email(rt, tenant.id, "website-visitor", visitor_email)
        # Health data newly disclosed to an insurer: only users (its subject type) are affected.
        text = CC1.replace(
            "    purposes: [legal-compliance]\n",
            "    purposes: [legal-compliance]\n  - id: insurer\n    name: Partner insurer\n"
            "    type: third_party\n    categories: [user.health_and_medical]\n"
            "    purposes: [sensitive-services]\n",
        )
        v2, created = _adopt(rt, tenant.id, text)
        assert created and v2.material
        assert [c["kind"] for c in v2.changes if c["material"]] == ["new_recipient"]
        messages = smtp.wait_for(2)
        recipients = sorted(m["To"] for m in messages)
        assert recipients == sorted([user_email, "info@contact-center1.com"])
        body = messages[0].get_content()
        assert "Partner insurer" in body and "version 2" in body
        assert "/v1/public/orgs/org-a/notice" in body
        with rt.db.session() as session:
            row = session.get(PolicyVersion, v2.version_id)
            assert row is not None and row.material and row.changes
            entry = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "policy.material_change_notified")
            ).one()
            assert entry.details["subjects_notified"] == 1
            # Running the job again sends nothing twice.
            from honorbound.vault.notices import notify_material_change

            again = notify_material_change(
                session, rt.keys, rt.vault_keys, None, tenant.id, v2.version_id
            )
            assert again.subjects_notified == 0 and again.skipped_already_sent == 1
            assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    finally:
        rt.close()


def test_material_change_without_a_job_queue_is_still_queued(
    runtime: Runtime, tenant: Tenant
) -> None:
    adopt_example(runtime, tenant.id)
    # Google starts receiving every category: a material change.
    text = CC1.replace(
        "categories: [user.device, user.location.imprecise]\n"
        "    purposes: [analytics, advertising]",
        "categories: all\n    purposes: [analytics, advertising]",
    )
    with runtime.db.session() as session:
        v2, _ = store.adopt_text(session, tenant.id, text, ACTOR)
    assert v2.material
    with runtime.db.session() as session:
        job = session.scalars(select(Job).where(Job.name == store.NOTIFY_JOB)).one()
        assert job.status == JobStatus.QUEUED
        assert job.payload == {"organization_id": tenant.id, "version_id": v2.version_id}
    # The worker's recovery sends it; the notice then goes to the privacy contact.
    assert runtime.jobs.recover(stale_after=dt.timedelta(seconds=-1)) == 1
    with runtime.db.session() as session:
        assert session.get(Job, job.id).status == JobStatus.DONE  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
