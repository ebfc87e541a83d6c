"""The audit table. Rows are only ever inserted; verification detects any other change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("organization_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    seq: Mapped[int] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    # Never personal data: ids, counts, rule names, reasons chosen from lists.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """How far an organization's chain was last verified, and what the last full check found.

    The console reads it to verify only entries added since (`audit.checkpoints`); the full
    walk, which also catches an edit to an old entry, runs daily and on demand."""

    __tablename__ = "audit_checkpoints"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column()  # verified through this entry (0: none)
    hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column()
    ok: Mapped[bool] = mapped_column()
    problem: Mapped[str | None] = mapped_column(String(500), nullable=True)
    checked_at: Mapped[dt.datetime] = mapped_column()
    full_checked_at: Mapped[dt.datetime] = mapped_column()
