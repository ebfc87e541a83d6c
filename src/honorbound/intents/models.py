"""One row per request said in an interaction and acted on (or waiting for staff).

The row is the idempotency record: the same interaction ingested again (same subject, channel,
start time and text) has the same `fingerprint` and acts once. It holds no words of the
conversation: the interaction id and the span's offsets point at them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class IntentKind(StrEnum):
    OPT_OUT = "opt_out"
    RIGHTS_REQUEST = "rights_request"


class ReviewReason(StrEnum):
    """Why a said request waits for staff (`ConversationIntent.review_reason`)."""

    SETTING = "setting"  # the organization reviews opt-outs said in conversations
    UNKNOWN_SPEAKER = "unknown_speaker"
    LOW_CONFIDENCE = "low_confidence"
    NEEDS_DETAILS = "needs_details"  # a correction, or a state we do not know


class IntentStatus(StrEnum):
    APPLIED = "applied"  # ledger events recorded / request opened when ingested
    QUEUED = "queued"  # waiting for staff to confirm or dismiss
    CONFIRMED = "confirmed"  # applied by staff
    DISMISSED = "dismissed"  # staff found it was not a request


class ConversationIntent(Base):
    __tablename__ = "conversation_intents"
    __table_args__ = (
        UniqueConstraint("organization_id", "fingerprint"),
        Index("ix_conversation_intents_org_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # No foreign keys to the vault: an erased subject's opt-outs stay (as hashed events).
    subject_id: Mapped[int] = mapped_column(index=True)
    interaction_id: Mapped[int] = mapped_column()
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # Why it waits for staff: `setting` (the organization reviews opt-outs), `unknown_speaker`,
    # `low_confidence`, `needs_details` (a correction or a state we do not know).
    review_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    channel: Mapped[str | None] = mapped_column(String(8), default=None)  # opt-outs
    request_type: Mapped[str | None] = mapped_column(String(40), default=None)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str] = mapped_column(String(8), default="en")
    speaker: Mapped[str] = mapped_column(String(16))
    span_start: Mapped[int] = mapped_column()
    span_end: Mapped[int] = mapped_column()
    occurred_at: Mapped[dt.datetime] = mapped_column()  # when it was said (the interaction)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(120), default=None)
    consent_event_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rights_request_id: Mapped[int | None] = mapped_column(default=None)
