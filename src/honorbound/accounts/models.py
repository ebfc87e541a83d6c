"""Tables for organizations, users, memberships and API keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class Organization(Base):
    """A data controller. A BPO has its own organization and one per client it serves."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The BPO organization that operates on this client's behalf, if any.
    operated_by_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The controller's privacy contact (an email address), given when a BPO onboards it.
    privacy_contact: Mapped[str] = mapped_column(String(320), default="", server_default="")
    # Disabled: its keys are revoked and nobody can sign in to it (honorbound.bpo.clients).
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Offboarded: its data was exported to the controller, then erased, with a certificate.
    offboarded_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class User(Base):
    """A console user (staff). Not a data subject of the organizations it works for."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # TOTP two-factor (honorbound.accounts.twofactor): the shared secret, sealed; it counts
    # only once confirmed with a first code (`totp_enabled_at`).
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The last TOTP time step accepted: a code is good once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int] = mapped_column(default=0)


class Membership(Base):
    """A user's role in one organization. A BPO staff member may belong to several."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))


class ApiKey(Base):
    """An API key: shown once, stored as a hash, identified by its prefix, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
