"""Reading the vault: masked views for everyone allowed to read, reveals for the few.

A masked view decrypts values only to mask them (`masking.py`); interaction bodies are the
screened text, so card numbers and security codes never appear. A reveal returns one value in
clear and writes an access-log entry (who, role, reason, when, what) and an audit entry in the
same transaction: no log, no reveal.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.errors import HonorboundError
from honorbound.vault.keystore import KeyStore
from honorbound.vault.masking import mask_category, mask_identity
from honorbound.vault.models import AccessLogEntry, Identity, Interaction, Record, SubjectStatus
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import SubjectNotFound, get_subject


@dataclass(frozen=True)
class MaskedIdentity:
    id: int
    kind: str
    masked: str


@dataclass(frozen=True)
class MaskedRecord:
    id: int
    category: str
    masked: str
    purposes: list[str]
    source: str
    policy_version_id: int | None
    collected_at: dt.datetime
    consent_opt_in: bool | None


@dataclass(frozen=True)
class InteractionView:
    id: int
    channel: str
    direction: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    agent: str | None
    body: str | None  # screened text
    original_kept: bool
    recording_sha256: str | None
    has_recording: bool
    tags: list[str]
    findings: dict[str, Any]


@dataclass(frozen=True)
class SubjectView:
    id: int
    type: str
    status: str
    jurisdiction: str | None
    last_activity_at: dt.datetime
    account_closed_at: dt.datetime | None = None
    engagement_ended_at: dt.datetime | None = None
    identities: list[MaskedIdentity] = field(default_factory=list)
    records: list[MaskedRecord] = field(default_factory=list)
    interactions: list[InteractionView] = field(default_factory=list)


def subject_view(
    session: Session, keys: KeyStore, organization_id: int, subject_id: int, limit: int = 100
) -> SubjectView:
    subject = get_subject(session, organization_id, subject_id)
    view = SubjectView(
        subject.id,
        subject.type,
        subject.status,
        subject.jurisdiction,
        subject.last_activity_at,
        subject.account_closed_at,
        subject.engagement_ended_at,
    )
    if subject.status == SubjectStatus.ERASED.value:
        return view
    dek = keys.data_key(organization_id, subject.key_id)

    def clear(field_name: str, sealed: bytes) -> str:
        return open_text(dek, organization_id, subject.key_id, field_name, sealed)

    for identity in session.scalars(
        select(Identity).where(Identity.subject_id == subject.id).order_by(Identity.id)
    ):
        value = clear(f"identity:{identity.kind}", identity.value_sealed)
        view.identities.append(
            MaskedIdentity(identity.id, identity.kind, mask_identity(identity.kind, value))
        )
    for record in session.scalars(
        select(Record).where(Record.subject_id == subject.id).order_by(Record.id).limit(limit)
    ):
        value = clear(f"record:{record.category}", record.value_sealed)
        view.records.append(
            MaskedRecord(
                record.id,
                record.category,
                mask_category(record.category, value),
                list(record.purposes),
                record.source,
                record.policy_version_id,
                record.collected_at,
                record.consent_opt_in,
            )
        )
    for item in session.scalars(
        select(Interaction)
        .where(Interaction.subject_id == subject.id)
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(limit)
    ):
        view.interactions.append(
            InteractionView(
                item.id,
                item.channel,
                item.direction,
                item.started_at,
                item.ended_at,
                item.agent,
                clear("interaction:body", item.body_sealed) if item.body_sealed else None,
                item.original_sealed is not None,
                item.recording_sha256,
                item.recording_uri_sealed is not None,
                list(item.tags),
                dict(item.findings),
            )
        )
    return view


class NothingToReveal(HonorboundError, LookupError):
    status = 404
    title = "Not found"


REVEALABLE = ("identity", "record", "interaction", "interaction_original", "recording_uri")


def reveal(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    subject_id: int,
    object_type: str,
    object_id: int,
    actor: Actor,
    reason: str,
) -> str:
    """One value in clear, logged. `object_type` is one of REVEALABLE."""
    if object_type not in REVEALABLE:
        raise ValueError(f"object_type must be one of {', '.join(REVEALABLE)}")
    if not reason.strip():
        raise ValueError("a reason is required to reveal a value")
    subject = get_subject(session, organization_id, subject_id)
    if subject.status == SubjectStatus.ERASED.value:
        raise SubjectNotFound("that subject has been erased")
    dek = keys.data_key(organization_id, subject.key_id)
    field_name: str
    sealed: bytes | None
    if object_type == "identity":
        identity = session.scalar(
            select(Identity).where(Identity.id == object_id, Identity.subject_id == subject.id)
        )
        if identity is None:
            raise NothingToReveal("no such identity for this subject")
        field_name, sealed = f"identity:{identity.kind}", identity.value_sealed
    elif object_type == "record":
        record = session.scalar(
            select(Record).where(Record.id == object_id, Record.subject_id == subject.id)
        )
        if record is None:
            raise NothingToReveal("no such record for this subject")
        field_name, sealed = f"record:{record.category}", record.value_sealed
    else:
        item = session.scalar(
            select(Interaction).where(
                Interaction.id == object_id, Interaction.subject_id == subject.id
            )
        )
        if item is None:
            raise NothingToReveal("no such interaction for this subject")
        if object_type == "interaction":
            field_name, sealed = "interaction:body", item.body_sealed
        elif object_type == "interaction_original":
            field_name, sealed = "interaction:original", item.original_sealed
        else:
            field_name, sealed = "interaction:recording_uri", item.recording_uri_sealed
        if sealed is None:
            raise NothingToReveal("that interaction holds no such value")
    value = open_text(dek, organization_id, subject.key_id, field_name, sealed)
    session.add(
        AccessLogEntry(
            organization_id=organization_id,
            subject_id=subject.id,
            object_type=object_type,
            object_id=object_id,
            actor=actor.id,
            role=actor.role,
            reason=reason.strip()[:500],
        )
    )
    append(
        session,
        organization_id,
        actor,
        "vault.revealed",
        object_type,
        object_id,
        {"subject_id": subject.id},
    )
    return value


def consent_evidence(
    session: Session, keys: KeyStore, organization_id: int, record_id: int
) -> dict[str, Any] | None:
    record = session.scalar(
        select(Record).where(Record.id == record_id, Record.organization_id == organization_id)
    )
    if record is None or record.consent_sealed is None:
        return None
    subject = get_subject(session, organization_id, record.subject_id)
    dek = keys.data_key(organization_id, subject.key_id)
    data: dict[str, Any] = json.loads(
        open_text(dek, organization_id, subject.key_id, "consent", record.consent_sealed)
    )
    return data


def access_log(session: Session, organization_id: int, subject_id: int) -> list[AccessLogEntry]:
    return list(
        session.scalars(
            select(AccessLogEntry)
            .where(
                AccessLogEntry.organization_id == organization_id,
                AccessLogEntry.subject_id == subject_id,
            )
            .order_by(AccessLogEntry.id)
        )
    )
