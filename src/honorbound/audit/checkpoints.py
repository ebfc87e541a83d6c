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

`verify_chain` is what users trigger (API, console, CLI, the jobs): either check, walked in
batches of short read transactions (`walk_in_batches`) so that it never holds the write lock;
`check_new` and `check_full` do the same in the caller's session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from honorbound.audit.chain import GENESIS, Actor, Walk, append, walk
from honorbound.audit.models import AuditCheckpoint, AuditEntry
from honorbound.db.base import utcnow
from honorbound.db.engine import Database
from honorbound.jobs.models import Job, JobStatus
from honorbound.jobs.queue import JobQueue

VERIFY_JOB = "audit.verify_chains"
BATCH = 10_000  # entries per read transaction of a walk


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
    found = walk(session, organization_id)
    problem = str(found.problem)[:500] if found.problem else None
    checkpoint = AuditCheckpoint(
        organization_id=organization_id,
        # Verified through the last entry the walk re-hashed (the one before a broken one).
        seq=found.seq,
        hash=found.hash,
        entries=found.entries,
        ok=found.problem is None,
        problem=problem,
        checked_at=now,
        full_checked_at=now,
    )
    _save(session, checkpoint)
    return ChainStatus.of(checkpoint)


def walk_in_batches(
    db: Database,
    organization_id: int,
    after_seq: int = 0,
    after_hash: str = GENESIS,
    batch: int = BATCH,
) -> Walk:
    """`walk` for long chains: `batch` entries per read transaction, carrying the last verified
    (seq, hash) from one to the next; stops at the first bad entry.

    Each batch is its own short read-only transaction (`Database.read_session`): on SQLite it
    takes no lock (WAL readers read a snapshot), on PostgreSQL it is READ ONLY, so writers
    never wait for a verification however long the chain. Entries appended during the walk
    are verified when the walk reaches them."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1 entry, got {batch}")
    seq, digest, entries = after_seq, after_hash, 0
    while True:
        with db.read_session() as session:
            found = walk(session, organization_id, seq, digest, limit=batch)
        seq, digest, entries = found.seq, found.hash, entries + found.entries
        if found.problem is not None or found.entries < batch:
            return Walk(seq, digest, entries, found.problem)


def verify_chain(
    db: Database,
    organization_id: int,
    full: bool = False,
    batch: int = BATCH,
    now: dt.datetime | None = None,
) -> ChainStatus:
    """Verify an organization's chain and move its checkpoint: the one function behind
    `GET /v1/audit/verify`, the console and `honorbound audit verify`.

    `full` re-hashes every entry and resets the checkpoint to what it found; otherwise only
    the entries after the checkpoint are walked (a full walk when there is none yet), and a
    chain already found broken stays reported broken until a full walk finds it intact. The
    walk runs in batches of short read transactions (`walk_in_batches`); the checkpoint is
    written in one short write transaction at the end."""
    now = now or utcnow()
    with db.read_session() as session:
        start = session.get(AuditCheckpoint, organization_id)
    if start is not None and not full and not start.ok:
        return ChainStatus.of(start)
    if start is None or full:
        found = walk_in_batches(db, organization_id, batch=batch)
        checkpoint = AuditCheckpoint(
            organization_id=organization_id,
            # Verified through the last entry the walk re-hashed (the one before a broken one).
            seq=found.seq,
            hash=found.hash,
            entries=found.entries,
            ok=found.problem is None,
            problem=str(found.problem)[:500] if found.problem else None,
            checked_at=now,
            full_checked_at=now,
        )
        with db.session() as session:
            _save(session, checkpoint)
        return ChainStatus.of(checkpoint)
    found = walk_in_batches(db, organization_id, start.seq, start.hash, batch)
    with db.session() as session:
        # Locked (PostgreSQL) so a full check that finished meanwhile is not overwritten by
        # this walk's older starting point; SQLite write sessions hold the write lock.
        current = session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.organization_id == organization_id)
            .with_for_update()
        ).one()
        if found.problem is not None:
            current.ok, current.problem = False, str(found.problem)[:500]
            current.checked_at = now
        elif current.ok and (current.seq, current.hash) == (start.seq, start.hash):
            current.seq, current.hash = found.seq, found.hash
            current.entries += found.entries
            current.checked_at = now
        session.flush()
        return ChainStatus.of(current, found.entries)


def check_full_in_batches(
    db: Database, organization_id: int, batch: int = 10_000, now: dt.datetime | None = None
) -> ChainStatus:
    """A full check in batches of read transactions (`verify_chain` with `full`)."""
    return verify_chain(db, organization_id, full=True, batch=batch, now=now)


def check_new(
    session: Session, organization_id: int, now: dt.datetime | None = None
) -> ChainStatus:
    """Verify the entries added since the checkpoint (a full check when there is none)."""
    now = now or utcnow()
    # Locked (PostgreSQL) so a concurrent full check that found a problem is not overwritten
    # by this call's older view; SQLite sessions already hold the write lock.
    checkpoint = session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.organization_id == organization_id)
        .with_for_update()
    ).first()
    if checkpoint is None:
        return check_full(session, organization_id, now)
    if not checkpoint.ok:
        return ChainStatus.of(checkpoint)  # broken stays broken until a full check says not
    found = walk(session, organization_id, checkpoint.seq, checkpoint.hash)
    checkpoint.seq, checkpoint.hash = found.seq, found.hash
    checkpoint.entries += found.entries
    checkpoint.checked_at = now
    if found.problem:
        checkpoint.ok, checkpoint.problem = False, str(found.problem)[:500]
    session.flush()
    return ChainStatus.of(checkpoint, found.entries)


def request_full_check(session: Session, jobs: JobQueue, organization_id: int, actor: Actor) -> int:
    """Queue a full check of one organization's chain for a worker, recording who asked
    (`audit.verify_requested`); the job records the result (`audit.verified`). Queued rather
    than run in the request: a walk of millions of entries takes minutes. Returns the job id;
    a check already waiting or running is reused, not queued twice."""
    waiting = full_check_pending(session, organization_id)
    if waiting is not None:
        return waiting[0]
    job = jobs.enqueue(
        session, VERIFY_JOB, {"organization_id": organization_id}, organization_id, max_attempts=2
    )
    append(session, organization_id, actor, "audit.verify_requested", "job", job.id, {"full": True})
    return job.id


def full_check_pending(session: Session, organization_id: int) -> tuple[int, dt.datetime] | None:
    """The full check queued or running for this organization (job id, when asked), if any."""
    row = session.execute(
        select(Job.id, Job.created_at)
        .where(
            Job.name == VERIFY_JOB,
            Job.organization_id == organization_id,
            Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
        )
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def organizations_with_entries(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(AuditEntry.organization_id).distinct().order_by(AuditEntry.organization_id)
        )
    )
