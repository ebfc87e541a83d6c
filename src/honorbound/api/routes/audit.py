from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from honorbound.accounts.service import Principal
from honorbound.api.deps import AfterSeq, SessionDep, require
from honorbound.audit import AuditEntry, head, verify

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
    entries: int
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
def verify_chain(principal: Reader, session: SessionDep) -> ChainStatus:
    result = verify(session, principal.organization_id)
    seq, digest = head(session, principal.organization_id)
    return ChainStatus(
        ok=result.ok,
        entries=result.entries,
        head_seq=seq,
        head_hash=digest,
        problem=str(result.problems[0]) if result.problems else None,
    )
