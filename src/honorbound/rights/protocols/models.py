"""Tables of the request protocols. Personal values never sit here in clear: the identities a
request names go to its rights request (sealed there); these rows hold ids, states and URLs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow


class DrpAgent(Base):
    """An authorized agent a covered business (an organization) accepts DRP requests from: its
    service-directory entry (DRP s.3.05.1), registered by the CLI or the API."""

    __tablename__ = "drp_agents"
    __table_args__ = (UniqueConstraint("organization_id", "agent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    verify_key: Mapped[str] = mapped_column(String(64))  # base64 of the 32-byte Ed25519 key
    web_url: Mapped[str] = mapped_column(String(2048), default="")
    identity_assurance_url: Mapped[str] = mapped_column(String(2048), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class DrpToken(Base):
    """The bearer token of one agent-business pair (DRP s.2.05): only its keyed hash."""

    __tablename__ = "drp_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    agent_row_id: Mapped[int] = mapped_column(
        ForeignKey("drp_agents.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class DrpRequest(Base):
    """A DRP exercise request (s.2.01) and the state the agent is told (s.3.03)."""

    __tablename__ = "drp_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    agent_row_id: Mapped[int] = mapped_column(ForeignKey("drp_agents.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(36), unique=True)  # our UUID (s.3.03 [1])
    agent_request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    rights_request_id: Mapped[int] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    exercise: Mapped[str] = mapped_column(String(40))
    regime: Mapped[str | None] = mapped_column(String(20), default=None)
    status_callback: Mapped[str | None] = mapped_column(String(2048), default=None)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The last status the agent's callback accepted (200), and failed tries since.
    reported_status: Mapped[str | None] = mapped_column(String(20), default=None)
    callback_failures: Mapped[int] = mapped_column(default=0)


class SeenMessage(Base):
    """A signed message already accepted: the same signature again is a replay (409). Kept
    until the message's own expiry, after which it is refused as expired anyway."""

    __tablename__ = "protocol_seen_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class ControllerContract(Base):
    """A client controller's terms with the BPO: its id on the wire (OpenDSR `controller_id`),
    the contractual deadline for requests it sends, and where its notices go."""

    __tablename__ = "protocol_controllers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    controller_id: Mapped[str] = mapped_column(String(128))
    contract_days: Mapped[int] = mapped_column()
    contract_source: Mapped[str] = mapped_column(Text, default="")
    # Where forwarded requests and completion notices are mailed (the controller's privacy
    # contact); a business address, not a consumer's.
    notice_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OpenDsrRequest(Base):
    """A request a controller pushed (OpenDSR s.7) and its status (s.8)."""

    __tablename__ = "opendsr_requests"
    __table_args__ = (UniqueConstraint("organization_id", "subject_request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subject_request_id: Mapped[str] = mapped_column(String(36))
    rights_request_id: Mapped[int] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    subject_request_type: Mapped[str] = mapped_column(String(20))
    regulation: Mapped[str] = mapped_column(String(20))
    submitted_time: Mapped[dt.datetime] = mapped_column()
    received_time: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expected_completion_time: Mapped[dt.datetime] = mapped_column()
    callback_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reported_status: Mapped[str | None] = mapped_column(String(20), default=None)
    callback_failures: Mapped[int] = mapped_column(default=0)


class ProcessorForward(Base):
    """A consumer's request that reached the BPO about a client, routed to that controller:
    what was done and when (the forwarding record)."""

    __tablename__ = "processor_forwards"
    __table_args__ = (Index("ix_processor_forwards_open", "organization_id", "completion_sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    bpo_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    rights_request_id: Mapped[int] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    received_by: Mapped[str] = mapped_column(String(200))  # the staff member or key
    forwarded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    controller_notified: Mapped[bool] = mapped_column(default=False)
    consumer_told: Mapped[bool] = mapped_column(default=False)
    completion_sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
