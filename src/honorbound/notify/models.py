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
    SENDING = "sending"  # an attempt is under way (or its worker died: resent after the lease)
    SENT = "sent"
    FAILED = "failed"  # the server refused it for good (5xx)
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
    # The Message-ID header, fixed before the first attempt and reused by every resend, so a
    # copy sent again after a crash is recognisable as the same message.
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # The worker running the current attempt (host:pid) and until when it may; past that, or
    # once that process is gone, another worker sends it again.
    attempt_by: Mapped[str] = mapped_column(String(120), default="", server_default="")
    attempt_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    # What the server answered to the last attempt (e.g. "250 2.0.0 Ok: queued as 4B7F"), with
    # the recipient's address replaced: recorded together with the status it led to.
    outcome: Mapped[str] = mapped_column(Text, default="", server_default="")
