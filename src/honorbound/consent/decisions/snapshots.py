"""Building a snapshot of one organization from the database, and bringing it up to date.

A snapshot holds, as sorted int64 arrays: the latest choice per (identity, purpose, channel,
scope) with its precedence rank, the national do-not-call registry, the company list with
expiries, recent call attempts and what the vault knows of subjects (state, minors' limits).
`refresh` reads only what is newer than the snapshot (by id); it answers False when so much
changed that a rebuild is cheaper. Caching, locking and background rebuilds are the engine's.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from honorbound.consent import minors, subject_facts
from honorbound.consent.decisions.model import (
    ACTION_CODE,
    ANY_SCOPE,
    CHANNEL_CODE,
    OPT_OUT,
    PURPOSE_CODE,
    STATE_INDEX,
    Int64Array,
    Snapshot,
    composite,
    epoch,
    precedence_rank,
    sorted_unique_max,
)
from honorbound.consent.models import (
    CallAttempt,
    CompanyDnc,
    ConsentEvent,
    NationalDncImport,
    NationalDncNumber,
)
from honorbound.consent.rules import ContactRules
from honorbound.db.base import utcnow
from honorbound.policy.jurisdictions import JurisdictionRules

REBUILD_AFTER_DELTA = 5000
CHUNK = 200_000
MAX_SNAPSHOT_AGE = dt.timedelta(hours=1)
SUBJECT_SCAN_EVERY = dt.timedelta(seconds=10)


class Sources(Protocol):
    """What building a snapshot needs from the engine (the runtime's rules and keys)."""

    rules: ContactRules
    vault_keys: Any
    laws: JurisdictionRules | None

    def secret(self, organization_id: int) -> bytes: ...


def build(
    src: Sources, session: Session, organization_id: int, previous: Snapshot | None = None
) -> Snapshot:
    built_at = utcnow()
    keys, ranks, actions, scopes, max_event = _load_events(session, organization_id)
    latest = latest_import(session, organization_id)
    national: Int64Array
    import_id: int
    as_of: dt.date | None
    if previous is not None and latest is not None and previous.national_import_id == latest.id:
        # The registry did not change: keep the array (10 million rows take a while).
        national, import_id, as_of = previous.national, latest.id, latest.registry_date
    else:
        national, import_id, as_of = _load_national(session, organization_id)
    company, expiry, max_dnc, dnc_rows = _load_company(session, organization_id, built_at)
    attempts, max_attempt = load_attempts(src, session, organization_id, built_at)
    max_identity = subject_facts.max_identity_id(session, organization_id)
    children = minors.children_policy(session, organization_id)
    facts = load_subjects(src, session, organization_id, children)
    subject_keys, states, limits = _subject_arrays(facts)
    return Snapshot(
        organization_id=organization_id,
        built_at=built_at,
        max_event_id=max_event,
        max_dnc_id=max_dnc,
        company_rows=dnc_rows,
        max_attempt_id=max_attempt,
        national_import_id=import_id,
        keys=keys,
        ranks=ranks,
        actions=actions,
        identities=np.unique(keys >> 16),
        scopes=scopes,
        national=national,
        national_as_of=as_of,
        company=company,
        company_expiry=expiry,
        attempts=attempts,
        subject_keys=subject_keys,
        subject_states=states,
        minor_limits=limits,
        max_identity_id=max_identity,
        policy_version_id=children.policy_version_id,
    )


def _load_events(
    session: Session, organization_id: int
) -> tuple[Int64Array, Int64Array, npt.NDArray[np.int8], dict[str, int], int]:
    """The latest choice per composite key: (keys, ranks, actions, scope codes, max event id)."""
    ids, ranks, mks, pc, cc, sc, ac, scopes = _event_columns(session, organization_id)
    # The snapshot covers exactly the events this statement read: later ones (by id, which
    # per organization is commit order: ledger.record holds the chain lock) are the delta.
    max_event = int(ids.max()) if len(ids) else 0
    del ids
    n = len(ranks)
    keys = composite(mks, pc, cc, sc)
    order = np.lexsort((ranks, keys))
    keys, ranks, ac, sc = keys[order], ranks[order], ac[order], sc[order]
    last = np.ones(n, dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    keys, ranks, ac, sc = keys[last], ranks[last], ac[last], sc[last]
    # Synthetic "any scope" rows: the latest scoped opt-out per (identity, purpose,
    # channel), for decisions that do not name a sender or list.
    scoped_out = (sc > 0) & (ac == OPT_OUT)
    any_keys, any_ranks = sorted_unique_max(
        (keys[scoped_out] & np.int64(~0xFF)) | np.int64(ANY_SCOPE), ranks[scoped_out]
    )
    keys = np.concatenate([keys, any_keys])
    ranks = np.concatenate([ranks, any_ranks])
    ac = np.concatenate([ac, np.full(len(any_keys), OPT_OUT, dtype=np.int64)])
    order = np.argsort(keys, kind="stable")
    return keys[order], ranks[order], ac[order].astype(np.int8), scopes, max_event


def _event_columns(session: Session, organization_id: int) -> tuple[Any, ...]:
    """Every event of the organization as int64 columns (id, rank, match key, purpose,
    channel, scope and action codes) plus the scope codes handed out."""
    # Streamed in chunks: a list of a million Row objects would cost far more memory than
    # the arrays built from it.
    result = session.execute(
        select(
            ConsentEvent.id,
            precedence_rank(session.get_bind().dialect.name),
            ConsentEvent.match_key,
            ConsentEvent.purpose,
            ConsentEvent.channel,
            ConsentEvent.scope,
            ConsentEvent.action,
        )
        .where(ConsentEvent.organization_id == organization_id)
        .execution_options(yield_per=CHUNK)
    )
    scopes: dict[str, int] = {"": 0}

    def scope_code(scope: str) -> int:
        code = scopes.get(scope)
        if code is None:
            # Past 254 distinct senders/lists, scopes share codes: conservative (an
            # opt-out from one then also blocks its code-mates), see docs/consent.md.
            code = len(scopes) if len(scopes) < ANY_SCOPE else 1 + zlib.crc32(scope.encode()) % 254
            scopes[scope] = code
        return code

    parts: list[tuple[Int64Array, ...]] = []
    for chunk in result.partitions(CHUNK):
        m = len(chunk)
        parts.append(
            (
                np.fromiter((r[0] for r in chunk), dtype=np.int64, count=m),
                np.fromiter((r[1] for r in chunk), dtype=np.int64, count=m),
                np.fromiter((r[2] for r in chunk), dtype=np.int64, count=m),
                np.fromiter((PURPOSE_CODE[r[3]] for r in chunk), dtype=np.int64, count=m),
                np.fromiter((CHANNEL_CODE[r[4]] for r in chunk), dtype=np.int64, count=m),
                np.fromiter((scope_code(r[5]) for r in chunk), dtype=np.int64, count=m),
                np.fromiter((ACTION_CODE[r[6]] for r in chunk), dtype=np.int64, count=m),
            )
        )
    if parts:
        columns = tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    else:
        columns = tuple(np.empty(0, dtype=np.int64) for _ in range(7))
    return (*columns, scopes)


def _subject_arrays(
    facts: dict[int, subject_facts.SubjectFact | None],
) -> tuple[Int64Array, npt.NDArray[np.int16], npt.NDArray[np.int8]]:
    """Subjects' match keys (sorted), state index and per purpose the minors limit."""
    subject_keys = np.fromiter(facts, dtype=np.int64, count=len(facts))
    order = np.argsort(subject_keys)
    subject_keys = subject_keys[order]
    states = np.zeros(len(facts), dtype=np.int16)
    limits = np.zeros((len(facts), len(PURPOSE_CODE)), dtype=np.int8)
    values = list(facts.values())
    for row, k in enumerate(order.tolist()):
        fact = values[k]
        if fact is not None:
            states[row], limits[row] = fact_row(fact)
    return subject_keys, states, limits


def load_subjects(
    src: Sources,
    session: Session,
    organization_id: int,
    children: minors.ChildrenPolicy,
    subject_ids: set[int] | None = None,
) -> dict[int, subject_facts.SubjectFact | None]:
    if src.vault_keys is None or src.laws is None:
        return {}
    return subject_facts.load(
        session,
        src.vault_keys,
        src.secret(organization_id),
        organization_id,
        src.rules,
        children,
        src.laws,
        subject_ids,
    )


def fact_row(fact: subject_facts.SubjectFact) -> tuple[int, npt.NDArray[np.int8]]:
    """A subject's state index and its row of minors limits per purpose code."""
    row = np.zeros(len(PURPOSE_CODE), dtype=np.int8)
    for purpose, level in fact.limits.items():
        code = PURPOSE_CODE.get(purpose)
        if code is not None:
            row[code] = level
    return STATE_INDEX.get(fact.state or "", 0), row


def latest_import(session: Session, organization_id: int) -> NationalDncImport | None:
    return session.scalar(
        select(NationalDncImport)
        .where(NationalDncImport.organization_id == organization_id)
        .order_by(NationalDncImport.id.desc())
        .limit(1)
    )


def _load_national(
    session: Session, organization_id: int
) -> tuple[Int64Array, int, dt.date | None]:
    latest = latest_import(session, organization_id)
    if latest is None:
        return np.empty(0, dtype=np.int64), 0, None
    # Raw DBAPI cursor into a preallocated array: 10 million integers through the ORM
    # would take many seconds, and chunk lists would double the peak memory.
    total = int(
        session.scalar(
            select(func.count())
            .select_from(NationalDncNumber)
            .where(NationalDncNumber.organization_id == organization_id)
        )
        or 0
    )
    numbers = np.empty(total, dtype=np.int64)
    filled = 0
    connection = session.connection()
    raw = connection.connection
    # On PostgreSQL a named (server-side) cursor streams; a plain one would first pull
    # all rows into client memory.
    cursor = (
        raw.cursor(name="hb_national_dnc")
        if connection.dialect.name == "postgresql"
        else raw.cursor()
    )
    try:
        cursor.execute(
            "SELECT number FROM consent_national_dnc WHERE organization_id = "
            f"{int(organization_id)} ORDER BY number"
        )
        while filled < total:
            part = cursor.fetchmany(CHUNK)
            if not part:
                break
            m = min(len(part), total - filled)
            numbers[filled : filled + m] = np.fromiter(
                (r[0] for r in part[:m]), dtype=np.int64, count=m
            )
            filled += m
    finally:
        cursor.close()
    numbers = numbers[:filled]
    numbers.sort()  # already in order from the primary key; cheap
    return numbers, latest.id, latest.registry_date


def _load_company(
    session: Session, organization_id: int, now: dt.datetime
) -> tuple[Int64Array, Int64Array, int, int]:
    """(match keys, expiry, the highest id, the number of rows up to it, expired included:
    `refresh` compares it to notice a removal)."""
    rows = session.execute(
        select(CompanyDnc.id, CompanyDnc.match_key, CompanyDnc.expires_at).where(
            CompanyDnc.organization_id == organization_id, CompanyDnc.expires_at > now
        )
    ).all()
    max_id, count = session.execute(
        select(func.coalesce(func.max(CompanyDnc.id), 0), func.count()).where(
            CompanyDnc.organization_id == organization_id
        )
    ).one()
    keys = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    expiry = np.fromiter((epoch(r[2]) for r in rows), dtype=np.int64, count=len(rows))
    keys, expiry = sorted_unique_max(keys, expiry)
    return keys, expiry, int(max_id or 0), int(count or 0)


def _company_rows_up_to(session: Session, organization_id: int, max_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                CompanyDnc.organization_id == organization_id, CompanyDnc.id <= max_id
            )
        )
        or 0
    )


def _attempt_horizon(rules: ContactRules, now: dt.datetime) -> dt.datetime:
    longest = max((c.window for c in rules.call_caps), default=dt.timedelta(0))
    return now - longest - MAX_SNAPSHOT_AGE - dt.timedelta(hours=1)


def load_attempts(
    src: Sources, session: Session, organization_id: int, now: dt.datetime, after_id: int = 0
) -> tuple[dict[int, list[int]], int]:
    query = select(CallAttempt.id, CallAttempt.match_key, CallAttempt.called_at).where(
        CallAttempt.organization_id == organization_id, CallAttempt.id > after_id
    )
    if not after_id:
        query = query.where(CallAttempt.called_at >= _attempt_horizon(src.rules, now))
    attempts: dict[int, list[int]] = {}
    max_id = after_id
    for attempt_id, key, called_at in session.execute(query):
        attempts.setdefault(int(key), []).append(epoch(called_at))
        max_id = max(max_id, int(attempt_id))
    return attempts, max_id


def refresh(src: Sources, session: Session, snap: Snapshot) -> bool:
    """Pull what changed since the snapshot. False: too much changed, rebuild instead."""
    org = snap.organization_id
    new_events = session.execute(
        select(ConsentEvent.id, ConsentEvent.match_key)
        .where(ConsentEvent.organization_id == org, ConsentEvent.id > snap.max_event_id)
        .limit(REBUILD_AFTER_DELTA + 1)
    ).all()
    if len(new_events) > REBUILD_AFTER_DELTA:
        return False
    for event_id, key in new_events:
        snap.delta_identities.add(int(key))
        snap.max_event_id = max(snap.max_event_id, int(event_id))
    latest = latest_import(session, org)
    if (latest.id if latest else 0) != snap.national_import_id:
        return False
    if _company_rows_up_to(session, org, snap.max_dnc_id) != snap.company_rows:
        return False  # a request was removed (dnc.remove_company_request): read the list anew
    for dnc_id, key, expires in session.execute(
        select(CompanyDnc.id, CompanyDnc.match_key, CompanyDnc.expires_at).where(
            CompanyDnc.organization_id == org, CompanyDnc.id > snap.max_dnc_id
        )
    ):
        snap.delta_company[int(key)] = max(snap.delta_company.get(int(key), 0), epoch(expires))
        snap.max_dnc_id = max(snap.max_dnc_id, int(dnc_id))
        snap.company_rows += 1
    attempts, snap.max_attempt_id = load_attempts(src, session, org, utcnow(), snap.max_attempt_id)
    for key, times in attempts.items():
        snap.attempts.setdefault(key, []).extend(times)
    if src.vault_keys is None:
        return True
    if minors.current_version_id(session, org) != snap.policy_version_id:
        return False  # a new declaration may change the children's minimum age
    return _refresh_subjects(src, session, snap)


def _refresh_subjects(src: Sources, session: Session, snap: Snapshot) -> bool:
    """Subjects added or touched since the last look: re-read them alone.
    New identities (an indexed id range) every batch; subjects whose age or state was
    updated in place (an unindexed scan) at most every SUBJECT_SCAN_EVERY."""
    org = snap.organization_id
    seen_at = utcnow()
    since = snap.subjects_seen_at or snap.built_at
    scan = seen_at - since >= SUBJECT_SCAN_EVERY
    changed, highest = subject_facts.changed_subject_ids(
        session, org, snap.max_identity_id, since if scan else None, REBUILD_AFTER_DELTA
    )
    if len(changed) > REBUILD_AFTER_DELTA:
        return False
    if changed:
        children = minors.children_policy(session, org)
        snap.delta_subjects.update(load_subjects(src, session, org, children, changed))
    snap.max_identity_id = highest
    snap.subject_scan_pending = not scan
    if scan:
        snap.subjects_seen_at = seen_at
    return True


def warnings(rules: ContactRules, snap: Snapshot, now: dt.datetime) -> list[str]:
    """Batch-wide warnings: the national registry missing or older than the rules allow."""
    if snap.national_as_of is None:
        return ["national_dnc_registry_missing"]
    age = (now.date() - snap.national_as_of).days
    if age > rules.national_dnc_max_age_days:
        return ["national_dnc_registry_stale"]
    return []
