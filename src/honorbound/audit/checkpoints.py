"""Verify an organization's audit chain from where the last check stopped.

A full verification (`chain.verify`) re-hashes every entry: the only way to notice an edit to
an old entry, and slow on a long chain. The console cannot do that on every page load, so each
organization keeps a checkpoint: the entry the chain was verified through, with its hash, and
when the last full walk ran and what it found.

- `check_new` verifies only the entries added after the checkpoint, linking the first of them
  to the checkpoint's hash, and moves the checkpoint forward. Cheap; it catches a broken or
  forged tail, not an edit further back.
- `check_full` walks the whole chain and resets the checkpoint. It runs daily as the job
  `audit.verify_chains`, when staff ask ("verify the whole chain now"), and when an
  organization has no checkpoint yet.

A problem found by either stays on the checkpoint (`ok` false, `problem`) until a full check
finds the chain intact again, so a broken chain is never hidden by later good entries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from honorbound.audit.chain import ChainProblem, entry_hash, head, verify
from honorbound.audit.models import AuditCheckpoint, AuditEntry
from honorbound.db.base import utcnow

VERIFY_JOB = "audit.verify_chains"


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    through_seq: int  # verified through this entry
    through_hash: str
    entries: int
    problem: str | None
    checked_at: dt.datetime
    full_checked_at: dt.datetime
    new_entries: int = 0  # verified by this call (incremental)

    @classmethod
    def of(cls, checkpoint: AuditCheckpoint, new_entries: int = 0) -> ChainStatus:
        return cls(
            ok=checkpoint.ok,
            through_seq=checkpoint.seq,
            through_hash=checkpoint.hash,
            entries=checkpoint.entries,
            problem=checkpoint.problem,
            checked_at=checkpoint.checked_at,
            full_checked_at=checkpoint.full_checked_at,
            new_entries=new_entries,
        )


def _save(session: Session, checkpoint: AuditCheckpoint) -> None:
    try:
        with session.begin_nested():
            session.merge(checkpoint)
    except IntegrityError:
        # Another request created the organization's checkpoint at the same moment; its
        # result is as good as ours.
        pass


def check_full(
    session: Session, organization_id: int, now: dt.datetime | None = None
) -> ChainStatus:
    """Walk the whole chain and reset the organization's checkpoint to what was found."""
    now = now or utcnow()
    result = verify(session, organization_id)
    seq, digest = head(session, organization_id)
    problem = str(result.problems[0]) if result.problems else None
    if problem is not None:
        first: ChainProblem = result.problems[0]
        # Verified only up to the entry before the broken one.
        seq = first.seq - 1
        before = session.scalar(
            select(AuditEntry.hash).where(
                AuditEntry.organization_id == organization_id, AuditEntry.seq == seq
            )
        )
        digest = before or ""
    checkpoint = AuditCheckpoint(
        organization_id=organization_id,
        seq=max(seq, 0),
        hash=digest,
        entries=result.entries,
        ok=result.ok,
        problem=problem[:500] if problem else None,
        checked_at=now,
        full_checked_at=now,
    )
    _save(session, checkpoint)
    return ChainStatus.of(checkpoint)


def check_new(
    session: Session, organization_id: int, now: dt.datetime | None = None
) -> ChainStatus:
    """Verify the entries added since the checkpoint (a full check when there is none)."""
    now = now or utcnow()
    checkpoint = session.get(AuditCheckpoint, organization_id)
    if checkpoint is None:
        return check_full(session, organization_id, now)
    if not checkpoint.ok:
        return ChainStatus.of(checkpoint)  # broken stays broken until a full check says not
    expected, prev, previous_id, verified = checkpoint.seq + 1, checkpoint.hash, -1, 0
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.organization_id == organization_id, AuditEntry.seq > checkpoint.seq)
        .order_by(AuditEntry.seq, AuditEntry.id)
        .execution_options(yield_per=1000)
    )
    problem: str | None = None
    for entry in session.scalars(stmt):
        if entry.seq != expected:
            problem = (
                f"entries {expected}..{entry.seq - 1} are missing (deleted)"
                if entry.seq > expected
                else f"sequence number {entry.seq} repeats (inserted or reordered)"
            )
        elif entry.prev_hash != prev:
            problem = "does not link to the entry before it (reordered or replaced)"
        elif entry_hash(entry) != entry.hash:
            problem = "its hash does not match its content (edited)"
        elif entry.id < previous_id:
            problem = "stored out of order (reordered)"
        if problem:
            problem = str(ChainProblem(organization_id, entry.seq, entry.id, problem))
            break
        expected, prev, previous_id = entry.seq + 1, entry.hash, entry.id
        verified += 1
    checkpoint.seq, checkpoint.hash = expected - 1, prev
    checkpoint.entries += verified
    checkpoint.checked_at = now
    if problem:
        checkpoint.ok, checkpoint.problem = False, problem[:500]
    session.flush()
    return ChainStatus.of(checkpoint, verified)


def organizations_with_entries(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(AuditEntry.organization_id).distinct().order_by(AuditEntry.organization_id)
        )
    )
