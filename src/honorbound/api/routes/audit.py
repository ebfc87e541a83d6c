from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from honorbound.accounts.service import Principal
from honorbound.api.deps import AfterSeq, RuntimeDep, SessionDep, require
from honorbound.audit import AuditEntry, head
from honorbound.audit.checkpoints import verify_chain

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require("audit.read"))]


class EntryOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ChainStatus(BaseModel):
    ok: bool
    entries: int  # verified through `through_seq` (by this call and, incremental, before it)
    new_entries: int  # verified by this call when incremental (0 for a full walk)
    through_seq: int
    head_seq: int
    head_hash: str
    problem: str | None


@router.get("/entries", response_model=list[EntryOut])
def entries(
    principal: Reader,
    session: SessionDep,
    after_seq: AfterSeq = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: str | None = None,
) -> list[EntryOut]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.organization_id == principal.organization_id, AuditEntry.seq > after_seq)
        .order_by(AuditEntry.seq)
        .limit(limit)
    )
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return [EntryOut.model_validate(e, from_attributes=True) for e in session.scalars(stmt)]


@router.get("/verify", response_model=ChainStatus)
def verify_chain_route(
    principal: Reader,
    runtime: RuntimeDep,
    full: Annotated[
        bool, Query(description="Re-hash every entry (true) or only those after the checkpoint.")
    ] = True,
) -> ChainStatus:
    status = verify_chain(runtime.db, principal.organization_id, full=full)
    with runtime.db.read_session() as session:
        seq, digest = head(session, principal.organization_id)
    return ChainStatus(
        ok=status.ok,
        entries=status.entries,
        new_entries=status.new_entries,
        through_seq=status.through_seq,
        head_seq=seq,
        head_hash=digest,
        problem=status.problem,
    )
