"""Adopted declaration versions: immutable once stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class PolicyVersion(Base):
    """One adopted declaration. Records keep the id of the version they were collected under."""

    __tablename__ = "policy_versions"
    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        UniqueConstraint("organization_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()  # 1, 2, 3 ... per organization
    content_hash: Mapped[str] = mapped_column(String(64))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    source_text: Mapped[str] = mapped_column(Text)  # the YAML as adopted
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # canonical JSON form
    adopted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    adopted_by: Mapped[str] = mapped_column(String(200))
    material: Mapped[bool] = mapped_column(default=False)  # material change from the previous
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
