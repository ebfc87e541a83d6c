"""The outbox table. Recipient and content are sealed with the data key of the person the
message is about (`key_id`), so erasing the person makes the message unreadable too, or, for
messages about nobody in the vault, with the organization's outbox key."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for delivery (or for a transport to be configured)
    SENT = "sent"
    FAILED = "failed"
    ERASED = "erased"  # its person was erased before it went out: never sent, unreadable


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # The data subject the message is about, so erasure can remove it.
    subject_ref: Mapped[str] = mapped_column(String(64), default="", index=True)
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. rights.acknowledgement
    # The data key (in the key store) recipient and content are sealed under: a subject's key,
    # or a key of this message alone ("msg..."), destroyed once it is sent. Empty: the
    # organization's outbox key.
    key_id: Mapped[str] = mapped_column(String(32), default="")
    recipient_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
