"""Test data for retention and disclosure tests: subjects and records written with the vault's
own primitives (key store, sealing, blind index), at chosen times."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from faker import Faker

from honorbound.audit import Actor
from honorbound.policy.store import AdoptedPolicy, adopt_text, current
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind, blind_index, normalize
from honorbound.vault.models import Identity, Interaction, Record, Subject
from honorbound.vault.sealing import seal_text
from tests.support.people import remember

# Many subjects per test: tests.support.people.person() draws from a small unique pool, so
# this module uses its own Faker and registers every value for the session-end log check.
_fake = Faker("en_US")
_fake.seed_instance(20261124)


def fake_email() -> str:
    value = f"{_fake.user_name()}.{uuid.uuid4().hex[:8]}@{_fake.free_email_domain()}"
    remember(value)
    return value


def fake_value() -> str:
    value = _fake.street_address()
    remember(value)
    return value


DECLARATION = Path(__file__).with_name("declaration.yaml")
ADMIN = Actor("user:1", "admin")
NOW = dt.datetime.now(dt.UTC)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def adopt(runtime: Runtime, organization_id: int, text: str | None = None) -> AdoptedPolicy:
    with runtime.db.session() as session:
        adopted, _ = adopt_text(
            session, organization_id, text or DECLARATION.read_text(), ADMIN, "declaration.yaml"
        )
    return adopted


def add_subject(
    runtime: Runtime,
    organization_id: int,
    subject_type: str = "customer",
    last_activity: dt.datetime | None = None,
    jurisdiction: str | None = "CA",
    birth_date: dt.date | None = None,
    email: str | None = None,
    created_at: dt.datetime | None = None,
) -> int:
    """A subject with one email identity; returns its id."""
    keys = runtime.vault_keys
    with runtime.db.session() as session:
        key_id = uuid.uuid4().hex
        dek = keys.create_data_key(organization_id, key_id)
        subject = Subject(
            organization_id=organization_id,
            key_id=key_id,
            type=subject_type,
            jurisdiction=jurisdiction,
            last_activity_at=last_activity or NOW,
            created_at=created_at or NOW,
            birth_date_sealed=(
                seal_text(dek, organization_id, key_id, "birth_date", birth_date.isoformat())
                if birth_date
                else None
            ),
        )
        session.add(subject)
        session.flush()
        address = normalize(IdentityKind.EMAIL, email or fake_email())
        session.add(
            Identity(
                organization_id=organization_id,
                subject_id=subject.id,
                kind=IdentityKind.EMAIL.value,
                blind_index=blind_index(
                    keys.blind_index_key(organization_id), IdentityKind.EMAIL, address
                ),
                value_sealed=seal_text(
                    dek, organization_id, key_id, f"identity:{IdentityKind.EMAIL}", address
                ),
            )
        )
        return subject.id


def add_records(
    runtime: Runtime,
    organization_id: int,
    subject_id: int,
    category: str,
    times: list[dt.datetime],
    value: str | None = None,
) -> list[int]:
    keys = runtime.vault_keys
    with runtime.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        dek = keys.data_key(organization_id, subject.key_id)
        # Collected under the notice in force, as the collection gate would record it.
        adopted = current(session, organization_id)
        rows = [
            Record(
                organization_id=organization_id,
                subject_id=subject_id,
                category=category,
                purposes=["support"],
                source="test",
                policy_version_id=adopted.version_id if adopted else None,
                collected_at=at,
                value_sealed=seal_text(
                    dek,
                    organization_id,
                    subject.key_id,
                    f"record:{category}",
                    value if value is not None else fake_value(),
                ),
            )
            for at in times
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def add_interaction(
    runtime: Runtime,
    organization_id: int,
    subject_id: int,
    started_at: dt.datetime,
    channel: str = "call",
    recording: bool = True,
) -> int:
    """A call (with a recording pointer and a transcript) or a chat, started at `started_at`."""
    keys = runtime.vault_keys
    with runtime.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        dek = keys.data_key(organization_id, subject.key_id)

        def sealed(field: str, text: str) -> bytes:
            return seal_text(dek, organization_id, subject.key_id, field, text)

        row = Interaction(
            organization_id=organization_id,
            subject_id=subject_id,
            channel=channel,
            direction="inbound",
            started_at=started_at,
            body_sealed=sealed("interaction:body", fake_value()),
            recording_uri_sealed=sealed("interaction:recording_uri", "s3://calls/x.wav")
            if recording
            else None,
            recording_sha256="0" * 64 if recording else None,
        )
        session.add(row)
        session.flush()
        return row.id
