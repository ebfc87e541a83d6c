"""Consent tables: the append-only event ledger, do-not-call lists, the call log, SMS dedupe.

No table here holds a raw email address or a subject's phone number. Identities are kept as
(kind, blind index) from `honorbound.vault.identities`, plus `match_key`: a 64-bit keyed
BLAKE2b of the same normalised identity, which the in-memory decision snapshot compares
(HMAC-SHA256 per item is too slow for the 500,000 decisions/s target; see docs/consent.md).
National DNC numbers are not a list of our subjects: they are stored as plain integers.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class Purpose(StrEnum):
    """The consent ledger's purpose vocabulary (mapped to the declaration in docs/consent.md)."""

    ALL = "all"  # a revocation of everything (STOPALL, "revoke all")
    MARKETING = "marketing"
    TARGETED_ADVERTISING = "targeted_advertising"
    SALE = "sale"
    SHARING = "sharing"
    PROFILING = "profiling"
    SENSITIVE_DATA_USE = "sensitive_data_use"
    CALL_RECORDING = "call_recording"
    RESEARCH = "research"
    SERVICE_MESSAGES = "service_messages"
    # Choices about one declared recipient or purpose of the notice; `scope` names its id.
    # opt_in: consent to disclosures to that recipient (`consent_required`, or data collected
    # under an earlier notice); opt_out: "do not share with this company" (`opt_out: true`).
    RECIPIENT = "recipient"
    # opt_in: consent to use data (also data collected under an earlier notice) for that
    # declared purpose; opt_out: stop using it for that purpose.
    DECLARED_PURPOSE = "declared_purpose"


class ConsentChannel(StrEnum):
    ALL = "all"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    MAIL = "mail"
    FAX = "fax"


class Action(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


class Source(StrEnum):
    WEB_FORM = "web_form"
    SMS_KEYWORD = "sms_keyword"
    EMAIL_ONE_CLICK = "email_one_click"
    EMAIL_LINK = "email_link"
    AGENT_VERBAL = "agent_verbal"
    IVR_KEYPAD = "ivr_keypad"
    GPC_SIGNAL = "gpc_signal"
    RIGHTS_REQUEST = "rights_request"
    # Erased under a "not stored" (zero-day) retention rule: the suppression entries written
    # before the person's key is destroyed (`consent.suppression.suppress_retention_erasure`).
    RETENTION = "retention"
    CONTROLLER_API = "controller_api"
    TRANSCRIPT_INTENT = "transcript_intent"
    # Said by the customer in a call or chat ingested through the API (honorbound.intents).
    CONVERSATION = "conversation"
    IMPORT = "import"
    # Received by staff and recorded by them (`consent.received`): an email to the company, a
    # phone call, a letter.
    EMAIL = "email"
    PHONE_CALL = "phone_call"
    LETTER = "letter"


# Sources only staff may record (they say a person told *us*, in a way only staff witness).
STAFF_SOURCES = frozenset({Source.EMAIL, Source.PHONE_CALL, Source.LETTER})


class ConsentEvent(Base):
    """One expressed choice. Never updated or deleted; current state is the latest choice by
    `occurred_at` (see `consent.ledger.precedence`), whatever order the events arrived in."""

    __tablename__ = "consent_events"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_ref"),
        Index("ix_consent_events_org_identity", "organization_id", "identity_index"),
        Index("ix_consent_events_org_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    identity_kind: Mapped[str] = mapped_column(String(16))
    identity_index: Mapped[str] = mapped_column(String(64))
    match_key: Mapped[int] = mapped_column(BigInteger)
    # The vault's subject id when known. No foreign key on purpose: erasing the subject must
    # leave its opt-outs working as hashed suppression entries.
    subject_id: Mapped[int | None] = mapped_column(default=None, index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    # Narrows the choice to one sender number or one email list; "" = every sender and list.
    scope: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # JSON, no raw personal data
    # When the person expressed it: this orders choices (a late arrival keeps its place).
    occurred_at: Mapped[dt.datetime] = mapped_column()
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when we learned of it
    receipt_id: Mapped[str] = mapped_column(String(36), unique=True)
    # Idempotency key from the channel (e.g. "sms:<message id>"); NULL when there is none.
    external_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    actor_id: Mapped[str] = mapped_column(String(120), default="")


class CompanyDnc(Base):
    """A company-specific do-not-call request (kept for the rule's period, then it lapses)."""

    __tablename__ = "consent_company_dnc"
    __table_args__ = (Index("ix_consent_company_dnc_org_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    identity_index: Mapped[str] = mapped_column(String(64), index=True)
    match_key: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[dt.datetime] = mapped_column()
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    actor_id: Mapped[str] = mapped_column(String(120), default="")


class NationalDncImport(Base):
    """One import of a national registry file; the latest tells how old the scrub data is."""

    __tablename__ = "consent_national_dnc_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    registry_date: Mapped[dt.date] = mapped_column(Date)  # the date the registry file is as of
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    mode: Mapped[str] = mapped_column(String(8))  # full (replaces) | add | delete
    numbers: Mapped[int] = mapped_column(default=0)
    rejected_lines: Mapped[int] = mapped_column(default=0)


class NationalDncNumber(Base):
    """A 10-digit number on the national registry, as an integer (e.g. 4155550100)."""

    __tablename__ = "consent_national_dnc"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class CallAttempt(Base):
    """A dial made to an identity; call caps count these over the rule's window."""

    __tablename__ = "consent_call_attempts"
    __table_args__ = (
        Index("ix_consent_call_attempts_org_key_at", "organization_id", "match_key", "called_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    identity_index: Mapped[str] = mapped_column(String(64))
    match_key: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(32))
    called_at: Mapped[dt.datetime] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(32), default="")


class SmsInbound(Base):
    """A gateway message id seen once; a repeat of the same id changes nothing."""

    __tablename__ = "consent_sms_inbound"
    __table_args__ = (UniqueConstraint("organization_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # stop | start | help | revocation | other
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
