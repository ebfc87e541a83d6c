"""Vault tables. Every personal value is a `*_sealed` column (AES-256-GCM under the subject's
data key, which lives in the key store, not here). Clear columns hold only what the vault needs
to find and govern data: ids, kinds, categories, purposes, times, blind indexes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class SubjectStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    ERASED = "erased"


class Channel(StrEnum):
    CALL = "call"
    CHAT = "chat"
    EMAIL = "email"
    SMS = "sms"
    WEB_FORM = "web_form"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Subject(Base):
    """A person the organization holds data about. Erased subjects stay as a tombstone row
    (status `erased`, no values, no key) so references and audit entries still resolve."""

    __tablename__ = "vault_subjects"
    __table_args__ = (Index("ix_vault_subjects_org_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)  # names the DEK in the key store
    type: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str | None] = mapped_column(String(2))
    birth_date_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    age_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # "age@YYYY-MM-DD"
    status: Mapped[str] = mapped_column(String(20), default=SubjectStatus.ACTIVE.value)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column()
    # Lifecycle dates the declaration's retention triggers run from (`after_account_closure`,
    # `after_engagement_end`); recorded by `subjects.record_lifecycle`, null until then.
    account_closed_at: Mapped[dt.datetime | None] = mapped_column()
    engagement_ended_at: Mapped[dt.datetime | None] = mapped_column()


class Identity(Base):
    """An email, phone, account/cookie/device/external id, found through its blind index."""

    __tablename__ = "vault_identities"
    __table_args__ = (UniqueConstraint("organization_id", "blind_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("vault_subjects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    blind_index: Mapped[str] = mapped_column(String(64))
    value_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Record(Base):
    """One value of one declared category, with why, where from and under which notice."""

    __tablename__ = "vault_records"
    __table_args__ = (Index("ix_vault_records_org_category", "organization_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("vault_subjects.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(200))
    purposes: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(200))
    # Id of the adopted policy version (policy_versions.id); no foreign key so the vault's
    # migration does not depend on the policy package's.
    policy_version_id: Mapped[int | None] = mapped_column()
    collected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    value_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    consent_opt_in: Mapped[bool | None] = mapped_column()
    consent_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # evidence, JSON


class Interaction(Base):
    """A call, chat, email, SMS or web form. The body kept is the screened (redacted) text;
    the original only when the declaration allows it, and never with security codes."""

    __tablename__ = "vault_interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("vault_subjects.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    agent: Mapped[str | None] = mapped_column(String(200))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # redacted text
    original_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    recording_uri_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    recording_sha256: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts per entity
    policy_version_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AccessLogEntry(Base):
    """Every reveal of a sensitive value: who, in which role, why, when, which object.
    Kept after the subject is erased (it holds no values)."""

    __tablename__ = "vault_access_log"
    __table_args__ = (Index("ix_vault_access_log_org_subject", "organization_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column()
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    """A write already done under this key: a retry gets the same answer, no second write.
    `request_hash` is a keyed HMAC of the request (not a plain hash of personal data)."""

    __tablename__ = "vault_idempotency"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(50))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    response: Mapped[dict[str, Any]] = mapped_column(JSON)  # ids and counts only
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
