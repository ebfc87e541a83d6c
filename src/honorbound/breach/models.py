"""Breach tables: the incident, the people it affected, and every notice it led to.

No personal value is stored here: people are subject ids with their state of residence (the
vault's clear `jurisdiction` column); a notice names its outbox message, whose recipient and
text are sealed under the person's own key there."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.accounts.models import Organization
from honorbound.db.base import Base, utcnow


class IncidentStatus(StrEnum):
    OPEN = "open"  # discovered, being investigated
    CONTAINED = "contained"
    NOTIFYING = "notifying"
    CLOSED = "closed"


class Audience(StrEnum):
    INDIVIDUAL = "individual"
    REGULATOR = "regulator"  # an attorney general, a consumer reporting agency, HHS, media
    OWNER = "owner"  # the client controller a BPO maintains the data for


class Incident(Base):
    __tablename__ = "breach_incidents"
    __table_args__ = (Index("ix_breach_incidents_org_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    # What happened, in the words the notices use: written by staff, names no person.
    description: Mapped[str] = mapped_column(Text)
    discovered_at: Mapped[dt.datetime] = mapped_column()
    occurred_from: Mapped[dt.datetime | None] = mapped_column(default=None)
    occurred_to: Mapped[dt.datetime | None] = mapped_column(default=None)
    systems: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # For a BPO: the client controllers (organization slugs) whose data was involved.
    clients: Mapped[list[str]] = mapped_column(JSON, default=list)
    encrypted: Mapped[bool] = mapped_column(default=False)
    key_compromised: Mapped[bool] = mapped_column(default=False)
    health_data_covered: Mapped[bool] = mapped_column(default=False)  # HIPAA entity or BA
    status: Mapped[str] = mapped_column(String(20), default=IncidentStatus.OPEN.value)
    owner: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(500), default="")  # for the notices
    # The affected-people selection last run (criteria only, no values) and when.
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    selected_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The selection's counts by state (state -> people), taken once when it was stored.
    affected_by_state: Mapped[dict[str, int]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AffectedPerson(Base):
    __tablename__ = "breach_affected"
    # Without a rowid on SQLite the primary key is the table itself: one b-tree fewer to write
    # for a selection of a million people.
    # No (incident, state) index: keeping it cost more than inserting the rows of a wide
    # selection; the counts by state are taken once and kept on the incident (0026).
    __table_args__ = ({"sqlite_with_rowid": False},)

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("breach_incidents.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(2), default="")  # "" when the vault has none


class Notice(Base):
    """One notice to one person, regulator or client: how it went and where it is now."""

    __tablename__ = "breach_notices"
    __table_args__ = (Index("ix_breach_notices_incident", "incident_id", "audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("breach_incidents.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(2), default="")
    recipient: Mapped[str] = mapped_column(
        String(300), default=""
    )  # a regulator or client, never a person
    channel: Mapped[str] = mapped_column(String(20))  # email | letter | document
    language: Mapped[str] = mapped_column(String(5), default="en")
    outbox_message_id: Mapped[int | None] = mapped_column(default=None)
    # A person found only in a connected system: their contact row here (0038).
    contact_id: Mapped[int | None] = mapped_column(default=None)
    # For letters and documents: prepared | mailed; emails read their status from the outbox.
    status: Mapped[str] = mapped_column(String(20), default="prepared")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExternalContact(Base):
    """A person an incident affected who was found in a connected system but is unknown to
    the vault: their contact value, sealed under a data key of their own in the vault's key
    store (crypto-shreddable), kept for this incident's notices only. After erasure the row
    keeps its state and categories (the counts and the notice record), not the value."""

    __tablename__ = "breach_contacts"
    __table_args__ = (
        Index("ix_breach_contacts_incident", "incident_id", "blind_index", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("breach_incidents.id", ondelete="CASCADE"))
    key_id: Mapped[str] = mapped_column(String(64))  # the data key in the vault's key store
    kind: Mapped[str] = mapped_column(String(20))  # email | phone
    # The vault's blind index of the value (one row per person and incident); None once erased.
    blind_index: Mapped[str | None] = mapped_column(String(64), default=None)
    value_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    state: Mapped[str] = mapped_column(String(2), default="")  # "" when no state is known
    system: Mapped[str] = mapped_column(String(200))  # the connected system it was found in
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    found_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(default=None)
