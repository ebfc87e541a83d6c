"""Disclosure tables: one row per disclosure outside the organization, one row per subject it
covered (aggregates carry a count and no subject rows). No personal values are stored."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.accounts.models import Organization
from honorbound.db.base import Base, utcnow


class Basis(StrEnum):
    """Why the disclosure was lawful (the words US state laws use)."""

    SERVICE_PROVIDER = "service_provider"
    SALE = "sale"
    SHARING = "sharing"  # for cross-context behavioural advertising
    AFFILIATE = "affiliate"
    LEGAL_PROCESS = "legal_process"  # subpoena, court order, warrant: needs a reference
    CORPORATE_TRANSACTION = "corporate_transaction"
    CONSENT = "consent"


class Disclosure(Base):
    __tablename__ = "disclosures"
    __table_args__ = (Index("ix_disclosures_org_at", "organization_id", "disclosed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    recipient_id: Mapped[str] = mapped_column(String(100))  # the declaration's recipient id
    recipient_name: Mapped[str] = mapped_column(String(300))
    recipient_type: Mapped[str] = mapped_column(String(50))
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(100))
    basis: Mapped[str] = mapped_column(String(30))
    legal_reference: Mapped[str | None] = mapped_column(String(200))
    subject_count: Mapped[int] = mapped_column()
    aggregate: Mapped[bool] = mapped_column(default=False)
    policy_version_id: Mapped[int | None] = mapped_column()
    initiator: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(50))  # export, api, manual
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    disclosed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DisclosureSubject(Base):
    __tablename__ = "disclosure_subjects"
    __table_args__ = (Index("ix_disclosure_subjects_org_subject", "organization_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    disclosure_id: Mapped[int] = mapped_column(
        ForeignKey("disclosures.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column()
    categories: Mapped[list[str]] = mapped_column(JSON)  # what this subject's share contained
