"""Retention tables: legal holds, sweep runs (the resume point after a crash), the disposal log
with its signed certificates, and subjects' requests not to be kept any longer.

None of these rows holds a personal value: subjects are named by id, data by category.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.accounts.models import Organization
from honorbound.db.base import Base, utcnow
from honorbound.vault.models import Interaction, Record

# The sweep asks "records of category C collected before T" and walks them oldest first; this
# index answers that without touching the table (created by migration 0006).
RECORDS_DUE_INDEX = Index(
    "ix_vault_records_org_category_collected",
    Record.organization_id,
    Record.category,
    Record.collected_at,
)
INTERACTIONS_DUE_INDEX = Index(
    "ix_vault_interactions_org_started", Interaction.organization_id, Interaction.started_at
)


class LegalHold(Base):
    """Stops disposal of what it covers until released. Every given field narrows the hold:
    none given holds the whole organization; `category` covers the category and everything
    below it (`user.contact` holds `user.contact.email`); the time range is the collection
    time of records (inclusive)."""

    __tablename__ = "retention_holds"
    __table_args__ = (Index("ix_retention_holds_org_released", "organization_id", "released_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    subject_id: Mapped[int | None] = mapped_column()
    category: Mapped[str | None] = mapped_column(String(200))
    collected_from: Mapped[dt.datetime | None] = mapped_column()
    collected_to: Mapped[dt.datetime | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(200))
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column()
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(String(500))


class RetentionRun(Base):
    """One sweep. `as_of` is fixed when the run starts, so a run resumed after a crash decides
    exactly as the interrupted one would have; `progress` holds a cursor per step."""

    __tablename__ = "retention_runs"
    __table_args__ = (Index("ix_retention_runs_org_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    policy_version_id: Mapped[int] = mapped_column()
    as_of: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | finished
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    resumed: Mapped[int] = mapped_column(default=0)
    batches: Mapped[int] = mapped_column(default=0)
    records: Mapped[int] = mapped_column(default=0)
    subjects: Mapped[int] = mapped_column(default=0)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DisposalEntry(Base):
    """One disposed batch: which rule, what (counts per category), the time range, what holds
    kept back, and the signed certificate (canonical JSON + Ed25519 signature, base64)."""

    __tablename__ = "retention_disposals"
    __table_args__ = (Index("ix_retention_disposals_org_run", "organization_id", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_runs.id", ondelete="CASCADE"))
    batch: Mapped[int] = mapped_column()
    rule_id: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(40))  # rules.Action
    records: Mapped[int] = mapped_column()
    subjects: Mapped[int] = mapped_column()
    categories: Mapped[dict[str, int]] = mapped_column(JSON)
    range_start: Mapped[dt.datetime | None] = mapped_column()
    range_end: Mapped[dt.datetime | None] = mapped_column()
    hold_exclusions: Mapped[dict[str, Any]] = mapped_column(JSON)
    disposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    certificate: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))


class RetentionWithdrawal(Base):
    """A subject asked not to be kept any longer than the rule needs, e.g. a job applicant who
    does not want to be considered for future openings. Rules with the
    `until_consent_withdrawn` trigger apply to the subject from `asked_at`."""

    __tablename__ = "retention_withdrawals"
    __table_args__ = (
        Index("ix_retention_withdrawals_org_subject", "organization_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column()
    asked_at: Mapped[dt.datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(50))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
