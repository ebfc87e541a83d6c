"""Tables of the connected-systems package. None holds a personal value in clear: the maps hold
no secrets (only where to read them), per-request results and task details are sealed under the
organization's rights key, and the sweep's journal names rows by a hash of their keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.accounts.models import Organization
from honorbound.db.base import Base, utcnow


class ConnectedSystem(Base):
    """One system's dataset map as the organization connected it (Fides YAML, one dataset)."""

    __tablename__ = "systems"
    __table_args__ = (UniqueConstraint("organization_id", "key", name="uq_systems_org_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    map_text: Mapped[str] = mapped_column(Text)
    map_sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))


class SystemExecution(Base):
    """What one system did for one rights request (access or erasure): done, failed (with the
    error, no values), waiting (a manual task, or a webhook's long job). Access results are
    kept sealed until the package is downloaded and the request's records expire."""

    __tablename__ = "system_executions"
    __table_args__ = (
        UniqueConstraint("request_id", "system_key", "action", name="uq_system_exec"),
        Index("ix_system_exec_org_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"))
    system_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # access | erasure
    status: Mapped[str] = mapped_column(String(20))  # done | failed | waiting
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    callback_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class RequestIdentities(Base):
    """The identities a request looks for in connected systems (the vault's, plus the contact
    given), sealed, kept while the request runs: a deletion erases the vault copy at once, and a
    retry must still find the person in a system that failed. Deleted when the request closes."""

    __tablename__ = "system_request_identities"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class ManualTask(Base):
    """Work on a system without an API, for a named owner, due by its own deadline."""

    __tablename__ = "system_tasks"
    __table_args__ = (Index("ix_system_tasks_org_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"))
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("system_executions.id", ondelete="CASCADE")
    )
    system_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    instructions_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    evidence_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    evidence_name: Mapped[str | None] = mapped_column(String(200), default=None)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    evidence_size: Mapped[int | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    completed_by: Mapped[str | None] = mapped_column(String(200), default=None)


class SystemSweep(Base):
    """One retention sweep over the connected systems; `as_of` fixed at the start so a resumed
    run decides as the interrupted one would have; `progress` holds a cursor per step."""

    __tablename__ = "system_sweeps"
    __table_args__ = (Index("ix_system_sweeps_org_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    policy_version_id: Mapped[int] = mapped_column()
    as_of: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    resumed: Mapped[int] = mapped_column(default=0)
    batches: Mapped[int] = mapped_column(default=0)
    rows: Mapped[int] = mapped_column(default=0)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SystemDisposal(Base):
    """One batch disposed of in a connected system. Written `pending` (with the batch's key
    range) before the system is touched and `done` with its signed certificate after: a crash in
    between leaves a pending entry the next run repeats (erasure is idempotent) and certifies."""

    __tablename__ = "system_disposals"
    __table_args__ = (Index("ix_system_disposals_org_sweep", "organization_id", "sweep_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    sweep_id: Mapped[int] = mapped_column(ForeignKey("system_sweeps.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(400))
    system_key: Mapped[str] = mapped_column(String(100))
    collection: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disposed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    certificate: Mapped[str | None] = mapped_column(Text, default=None)
    signature: Mapped[str | None] = mapped_column(String(200), default=None)


class DriftScan(Base):
    """A drift scan's report (JSON: field names, categories and counts; no sampled values)."""

    __tablename__ = "system_scans"
    __table_args__ = (Index("ix_system_scans_org_started", "organization_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id, ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
