"""Rights-request tables. A request row keeps the CA 7101 record fields in clear (dates,
nature, manner, response, basis for denial) and every personal value sealed: the contact
address the answer goes to, the signed declaration's typed name, correction values."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class RequestType(StrEnum):
    ACCESS_CATEGORIES = "access_categories"
    ACCESS_SPECIFIC = "access_specific"
    PORTABILITY = "portability"
    DELETE = "delete"
    CORRECT = "correct"
    OPT_OUT_SALE = "opt_out_sale"
    OPT_OUT_SHARING = "opt_out_sharing"
    OPT_OUT_TARGETED_ADVERTISING = "opt_out_targeted_advertising"
    OPT_OUT_PROFILING = "opt_out_profiling"
    LIMIT_SENSITIVE = "limit_sensitive"
    SHINE_THE_LIGHT = "shine_the_light"
    OPT_OUT_ADMT = "opt_out_admt"  # CA ADMT regulations, from 2027-01-01
    ACCESS_ADMT = "access_admt"
    APPEAL = "appeal"


class Status(StrEnum):
    RECEIVED = "received"
    VERIFYING = "verifying"  # waiting for the consumer (link, code, data points)
    HELD = "held"  # fraud suspicion: nothing happens until staff release or deny
    IN_PROGRESS = "in_progress"  # verified; being executed or waiting for staff
    # Carried out in some connected systems, not all (one failed, or waits for a task or a
    # long job): retried, never reported complete until every system is done.
    PARTLY_DONE = "partly_done"
    COMPLETED = "completed"
    DENIED = "denied"


OPEN_STATUSES = (
    Status.RECEIVED,
    Status.VERIFYING,
    Status.HELD,
    Status.IN_PROGRESS,
    Status.PARTLY_DONE,
)


class Manner(StrEnum):
    """How the request was made (a CA 7101 field)."""

    PORTAL = "portal"
    PHONE = "phone"
    EMAIL = "email"
    MAIL = "mail"
    IN_PERSON = "in_person"
    AUTHORIZED_AGENT = "authorized_agent"
    CONTROLLER = "controller"
    CHAT = "chat"  # said in a chat (honorbound.intents)


class Response(StrEnum):
    """Nature of the response (a CA 7101 field)."""

    COMPLIED = "complied"
    COMPLIED_IN_PART = "complied_in_part"
    DENIED = "denied"


class DenialBasis(StrEnum):
    UNVERIFIABLE = "unverifiable"
    EXEMPT = "exempt"
    NOT_A_CONSUMER = "not_a_consumer"
    FRAUD = "fraud"
    EXCESSIVE = "excessive"  # beyond the free requests in the window (flagged at intake)
    OTHER = "other"


class RightsRequest(Base):
    __tablename__ = "rights_requests"
    __table_args__ = (
        Index("ix_rights_requests_org_status_due", "organization_id", "status", "due_at"),
        Index("ix_rights_requests_org_contact", "organization_id", "contact_index", "type"),
        Index("ix_rights_requests_org_received", "organization_id", "received_at"),
        # The cross-client desk's keyset pages: open requests (closed_at NULL) by due date.
        # Kept for MariaDB, which has no partial indexes (the one below is plain there).
        Index(
            "ix_rights_requests_org_open_due",
            "organization_id",
            "closed_at",
            "due_at",
            "id",
            "type",
        ),
        # Only the open requests, in due order per organization. PostgreSQL walks an index in
        # (due_at, id) order only when every column before them is an equality, and `closed_at
        # IS NULL` is not one: without this index it read and sorted every open request of
        # every client for a page of 50 (bench/desk.py, 0.5-2 s). `type`: it covers the counts.
        Index(
            "ix_rights_requests_open_due",
            "organization_id",
            "due_at",
            "id",
            "type",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=Status.RECEIVED.value)
    manner: Mapped[str] = mapped_column(String(20))
    jurisdiction: Mapped[str] = mapped_column(String(2))
    # The vault subject the request was matched to (no foreign key: the vault's tables live in
    # another migration branch, and an erased subject stays a tombstone anyway).
    subject_id: Mapped[int | None] = mapped_column(default=None, index=True)
    # Blind index of the email (or phone) the consumer gave: finds duplicates, holds no value.
    contact_index: Mapped[str] = mapped_column(String(64))
    # The language the consumer used (honorbound.i18n.LANGUAGES): their mail is written in it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    acknowledge_by: Mapped[dt.datetime] = mapped_column()
    due_at: Mapped[dt.datetime] = mapped_column()
    extended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    extension_reason: Mapped[str | None] = mapped_column(Text, default=None)
    verified_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    verification_points: Mapped[int] = mapped_column(default=0)
    declaration_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    declaration_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    agent_permission_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    hold_reason: Mapped[str | None] = mapped_column(Text, default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # response date
    response: Mapped[str | None] = mapped_column(String(20), default=None)
    denial_basis: Mapped[str | None] = mapped_column(String(20), default=None)
    response_note: Mapped[str | None] = mapped_column(Text, default=None)
    merged_count: Mapped[int] = mapped_column(default=0)
    appeal_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="SET NULL"), default=None
    )
    reminder_level: Mapped[int] = mapped_column(default=0)  # 0, 50, 80, 100 (% of the period)
    retain_until: Mapped[dt.datetime] = mapped_column()  # CA 7101: the record's 24 months
    # The staff member working on it (a user id; no foreign key: users live in another
    # migration branch, and a removed user leaves the request unassigned in effect).
    assigned_user_id: Mapped[int | None] = mapped_column(default=None, index=True)


class RequestEvent(Base):
    """The request's timeline. Details hold ids, counts and labels, never personal values."""

    __tablename__ = "rights_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TokenPurpose(StrEnum):
    VERIFY = "verify"
    DOWNLOAD = "download"
    APPEAL = "appeal"
    STATUS = "status"  # a code emailed to see a request's status ("my requests")


class RequestToken(Base):
    """A secret sent to the consumer (email link or SMS code). Only its keyed hash is stored."""

    __tablename__ = "rights_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))  # email | sms | email_code
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Counts wrong SMS codes (a 6-digit code needs a cap over every client) and data points
    # that did not match; a wrong email-link secret counts per client (TokenAttempt).
    attempts: Mapped[int] = mapped_column(default=0)
    uses: Mapped[int] = mapped_column(default=0)
    # What an email link names the token by: random, so links cannot be enumerated. NULL for
    # links issued before it existed (they keep working by row id until they expire).
    public_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)


class TokenAttempt(Base):
    """Wrong secrets sent for one email link from one client (a keyed hash of its address):
    a link locks for that client only, so nobody else's guesses lock its owner out."""

    __tablename__ = "rights_token_attempts"
    __table_args__ = (UniqueConstraint("token_id", "client_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("rights_tokens.id", ondelete="CASCADE"))
    client_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
