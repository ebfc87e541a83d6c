"""Append to and verify the audit hash chain.

Each entry stores SHA-256 over its canonical JSON, which includes the previous entry's hash.
Editing an entry breaks its own hash; deleting one leaves a gap in `seq` and breaks the next
entry's link; reordering breaks the links. The chain is per organization so an auditor of one
organization verifies its chain without seeing another's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import json.scanner
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import String, Table, func, insert, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from honorbound.audit.models import AuditEntry
from honorbound.db.base import utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did it: `user:12`, `apikey:ab12cd34`, `system`, `consumer` (never a name or email)."""

    id: str
    role: str

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "system")


@dataclass(frozen=True)
class ChainProblem:
    organization_id: int
    seq: int
    entry_id: int
    reason: str

    def __str__(self) -> str:
        return (
            f"audit chain broken at organization {self.organization_id}, entry seq {self.seq} "
            f"(row id {self.entry_id}): {self.reason}"
        )


def _timestamp(value: dt.datetime) -> str:
    # strftime("%Y-%m-%dT%H:%M:%S.%fZ"), spelled out: a third of the cost per entry.
    v = value.astimezone(dt.UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond:06d}Z"
    )


# What json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds on
# every call, built once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Hashed(Protocol):
    """What is hashed: an `AuditEntry`, or a row of its columns (verification reads rows)."""

    @property
    def organization_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def object_type(self) -> str: ...
    @property
    def object_id(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...


def canonical(entry: Hashed) -> bytes:
    document = {
        "organization_id": entry.organization_id,
        "seq": entry.seq,
        "at": _timestamp(entry.at),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    return _CANONICAL.encode(document).encode()


def entry_hash(entry: Hashed) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def _last(session: Session, organization_id: int) -> AuditEntry | None:
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.organization_id == organization_id)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()


# Class id of the PostgreSQL advisory lock that serializes one organization's chain ("HB" 1);
# the second key is the organization id.
CHAIN_LOCK = 0x48420001


def lock_chain(session: Session, organization_id: int) -> None:
    """Hold the organization's chain lock until the caller's transaction ends.

    Two transactions that read the same head would both append `seq` n+1 and one would fail on
    the (organization_id, seq) constraint; under load on PostgreSQL that was a fifth of all
    writes. Taking the lock before reading the head serializes appends per organization (other
    organizations do not wait). On SQLite the database write lock (BEGIN IMMEDIATE) already
    does this. Re-taking it in the same transaction is free (the lock is re-entrant)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK, organization_id)))


def append(
    session: Session,
    organization_id: int,
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits with the change it records)."""
    details = dict(details or {})
    # Round-trip through JSON so what is hashed is exactly what the database returns.
    details = json.loads(json.dumps(details, sort_keys=True, default=str))
    when = (at or utcnow()).astimezone(dt.UTC)
    # Timestamps are hashed at microsecond precision; every database here keeps that.
    lock_chain(session, organization_id)
    # With the lock no other transaction can take the same seq; the retry stays for a writer
    # that bypasses it (a manual insert, an old process during an upgrade).
    for attempt in range(5):
        last = _last(session, organization_id)
        entry = AuditEntry(
            organization_id=organization_id,
            seq=(last.seq + 1) if last else 1,
            at=when,
            actor=actor.id,
            role=actor.role,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            details=details,
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = entry_hash(entry)
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
            return entry
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Event:
    """One entry to append with `append_many`: what `append` takes, minus the organization."""

    actor: Actor
    action: str
    object_type: str = ""
    object_id: str | int = ""
    details: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None


@dataclass(frozen=True)
class _Row:
    organization_id: int
    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    prev_hash: str


def append_many(session: Session, organization_id: int, events: Sequence[Event]) -> None:
    """Append `events` in order, one entry each, in the caller's transaction: the same entries,
    seq numbers and hashes as one `append` per event, but the chain lock is taken and the head
    read once, and the rows are inserted in one statement (bulk ingest: one per batch)."""
    if not events:
        return
    lock_chain(session, organization_id)
    seq, prev = head(session, organization_id)
    rows: list[dict[str, Any]] = []
    for event in events:
        seq += 1
        row = _Row(
            organization_id=organization_id,
            seq=seq,
            at=(event.at or utcnow()).astimezone(dt.UTC),
            actor=event.actor.id,
            role=event.actor.role,
            action=event.action,
            object_type=event.object_type,
            object_id=str(event.object_id),
            details=json.loads(json.dumps(event.details, sort_keys=True, default=str)),
            prev_hash=prev,
        )
        prev = entry_hash(row)
        rows.append({**row.__dict__, "hash": prev})
    # In seq order, so row ids grow with seq as verification expects.
    session.execute(insert(cast(Table, AuditEntry.__table__)), rows)


def head(session: Session, organization_id: int) -> tuple[int, str]:
    """The latest (seq, hash) of an organization's chain; (0, genesis) when empty."""
    last = _last(session, organization_id)
    return (last.seq, last.hash) if last else (0, GENESIS)


# The columns verification reads, in that order: plain rows, no ORM objects. `at` and
# `details` as the database holds them, without type processing: on SQLite the stored text;
# through SQLAlchemy on another database, the driver's datetime and parsed JSON (`_raw_hash`
# takes both).
_WALK_COLUMNS = (
    AuditEntry.id,
    AuditEntry.seq,
    type_coerce(AuditEntry.at, String).label("at"),
    AuditEntry.actor,
    AuditEntry.role,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    type_coerce(AuditEntry.details, String).label("details"),
    AuditEntry.prev_hash,
    AuditEntry.hash,
)
# With the organization: a row for `raw_hash`.
_COLUMNS = (AuditEntry.id, AuditEntry.organization_id, *_WALK_COLUMNS[1:])

# The same columns read through the driver's own cursor, where SQLAlchemy would build a Row
# per entry. PostgreSQL gives `at` (a timestamptz) in UTC, whatever the session's time zone,
# in the text form SQLite stores, and `details` as its stored text: the walk gets the same
# strings from both. The organization is the one asked for.
# On SQLite, details stored with spaces (every entry written before `compact_json`) come
# minified by SQLite's json(), which keeps keys, their order and every string's text: the
# same JSON value, in the form the walk takes as it is.
_AFTER = "FROM audit_entries WHERE organization_id = {0} AND seq > {0} ORDER BY seq, id LIMIT {0}"
_DRIVER_SQL = {
    "sqlite": "SELECT id, seq, at, actor, role, action, object_type, object_id, "
    "CASE WHEN instr(details, ': ') AND json_valid(details) THEN json(details) ELSE details END, "
    "prev_hash, hash " + _AFTER.format("?"),
    "postgresql": "SELECT id, seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
    "actor, role, action, object_type, object_id, details::text, prev_hash, hash "
    + _AFTER.format("%s"),
}
FETCH = 5_000  # rows per fetch from the cursor

# What the canonical encoder does with a string (ensure_ascii=False), and with `details`: the
# same C functions `_CANONICAL.encode` calls, without building an encoder on every call.
_string = json.encoder.encode_basestring
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_details = (
    _C_ENCODER(None, _CANONICAL.default, _string, None, ":", ",", True, False, True)
    if _C_ENCODER is not None
    else None
)
# The C scanner `json.loads` ends in, called directly; any text it does not take whole
# (leading or trailing space, not JSON) goes through `json.loads` itself.
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _load(text: str) -> Any:
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _encode_details(details: Any) -> str:
    if _details is None:  # pragma: no cover - CPython always has the C encoder
        return _CANONICAL.encode(details)
    return "".join(_details(details, 0))


def _stamp(value: Any) -> str:
    """`_timestamp` of a stored `at` as the driver returns it without type processing. On
    SQLite, SQLAlchemy stores `YYYY-MM-DD HH:MM:SS.ffffff` (naive UTC): rewritten by slicing,
    a text that differs in any character gives a different canonical form (so a different
    hash); any other text is parsed."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}Z"
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    return _timestamp(value if value.tzinfo else value.replace(tzinfo=dt.UTC))


def _raw_hash(
    organization_id: int, seq: int, at: Any, actor: str, role: str, action: str,
    object_type: str, object_id: str, details: Any, prev_hash: str,
) -> str | None:  # fmt: skip
    """`entry_hash` of the columns as read raw, the canonical JSON built as one string: keys
    in sorted order, strings through the encoder's own escaping, `details` through the
    canonical encoder; equal byte for byte (tests/audit/test_fast_walk.py checks it against
    an independent json.dumps). None when the stored content cannot be read back (a timestamp
    or JSON edited into something unparseable): it matches no hash."""
    try:
        if isinstance(details, str):
            details = _load(details)
        document = (
            f'{{"action":{_string(action)},"actor":{_string(actor)},"at":"{_stamp(at)}",'
            f'"details":{_encode_details(details)},"object_id":{_string(object_id)},'
            f'"object_type":{_string(object_type)},"organization_id":{int(organization_id)},'
            f'"prev_hash":{_string(prev_hash)},"role":{_string(role)},"seq":{int(seq)}}}'
        )
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(document.encode()).hexdigest()


def raw_hash(row: Any) -> str | None:
    """The hash of a row of `_COLUMNS` (`_raw_hash`)."""
    return _raw_hash(*tuple(row)[1:11])


def _rows(
    session: Session, organization_id: int, after_seq: int, limit: int | None
) -> Generator[Sequence[Any], None, None]:
    """The `_WALK_COLUMNS` of the entries after `after_seq` in order of seq, in lists of up to
    `FETCH` rows, from a cursor of the session's connection (in its transaction). On
    PostgreSQL a server-side cursor, so a walk without a limit never holds the chain in
    memory."""
    connection = session.connection()
    dialect = connection.dialect.name
    sql = _DRIVER_SQL.get(dialect)
    if sql is None:  # another database: SQLAlchemy Core rows, streamed
        stmt = (
            select(*_WALK_COLUMNS)
            .where(AuditEntry.organization_id == organization_id, AuditEntry.seq > after_seq)
            .order_by(AuditEntry.seq, AuditEntry.id)
            .limit(limit)
        )
        yield from connection.execute(stmt.execution_options(yield_per=FETCH)).partitions()
        return
    driver: Any = connection.connection.dbapi_connection
    cursor = driver.cursor("honorbound_audit_walk") if dialect == "postgresql" else driver.cursor()
    try:
        no_limit = -1 if dialect == "sqlite" else None  # LIMIT -1 / LIMIT NULL: all rows
        cursor.execute(sql, (organization_id, after_seq, no_limit if limit is None else limit))
        while rows := cursor.fetchmany(FETCH):
            yield rows
    finally:
        cursor.close()


@dataclass(frozen=True)
class Walk:
    """What one walk of a chain (or of its tail) found: the last entry that verified (`seq`,
    `hash`; the starting point when none did), how many entries verified, the first problem."""

    seq: int
    hash: str
    entries: int
    problem: ChainProblem | None


# Why taking the stored text as it is lets no edit through. The document built is
# `{"action":"A","actor":"B","at":"T","details":` D `,"object_id":"C",` ... `"seq":N}` with A,
# B, C ... needing no escaping (each is one JSON string, ending at its closing quote) and T the
# stored `at` rewritten. If its SHA-256 is the stored hash, it is (barring a collision) the
# canonical document the entry was written with. Read from the left, each string ends where
# it ended then, so A, B and T are as written; in what follows the details, `,"object_id":`
# occurs only at its start, in either document (inside a JSON string a quote is escaped, and
# a closing quote is never followed by a letter), so D is the details' canonical text as
# written, neither longer nor shorter, and the rest is the same field by field.
def walk(
    session: Session,
    organization_id: int,
    after_seq: int = 0,
    after_hash: str = GENESIS,
    limit: int | None = None,
) -> Walk:
    """Verify the entries after `after_seq`, the first of them linked to `after_hash`; from the
    start of the chain by default. Stops at the first bad entry, or after `limit` entries.

    The end point is the last entry actually re-hashed, never a head read separately: an entry
    appended while the walk runs is not reported as verified unless the walk reached it.

    Each entry is checked in one expression: its seq follows, it links to the entry before,
    its row id grows, and SHA-256 of its canonical document is its hash. The document is
    built from the stored strings as they are when they need no JSON escaping (one escape
    call over all of them says so) and `details` is taken as stored when it has the compact
    form (`db.engine.compact_json`). Any other entry goes to `_problem`, which checks it the
    general way (`_raw_hash`: parse and re-encode) and says what is wrong, if anything: the
    shortcut only accepts an entry whose stored text is exactly what its hash covers (see the
    note above), it never rejects one."""
    expected, prev, previous_id, verified = after_seq + 1, after_hash, -1, 0
    org, sha256 = int(organization_id), hashlib.sha256
    with contextlib.closing(_rows(session, org, after_seq, limit)) as batches:
        for rows in batches:
            for row in rows:
                entry_id, seq, at, actor, role, action, otype, oid, details, prev_hash, digest = row
                try:
                    strings = action + actor + oid + otype + role
                    accepted = (
                        seq == expected
                        and prev_hash == prev
                        and entry_id > previous_id
                        and len(at) == 26
                        and at[10] == " "
                        and ": " not in details
                        and len(_string(strings)) == len(strings) + 2
                        and sha256(
                            f'{{"action":"{action}","actor":"{actor}","at":"{at[:10]}T{at[11:]}Z",'
                            f'"details":{details},"object_id":"{oid}","object_type":"{otype}",'
                            f'"organization_id":{org},"prev_hash":"{prev}","role":"{role}",'
                            f'"seq":{seq}}}'.encode()
                        ).hexdigest()
                        == digest
                    )
                except TypeError:  # a column of another type than stored (edited): the long way
                    accepted = False
                if not accepted:
                    reason = _problem(org, row, expected, prev, previous_id)
                    if reason is not None:
                        found = ChainProblem(org, seq, entry_id, reason)
                        return Walk(expected - 1, prev, verified, found)
                prev, previous_id, expected = digest, entry_id, expected + 1
                verified += 1
    return Walk(expected - 1, prev, verified, None)


def _problem(
    organization_id: int, row: Sequence[Any], expected: int, prev: str, previous_id: int
) -> str | None:
    """What is wrong with an entry the walk's shortcut did not accept, checked in the order
    the walk has always checked (sequence, link, hash, storage order); None when nothing is
    (content stored in another form than compact JSON, or strings that need escaping)."""
    entry_id, seq, at, actor, role, action, otype, oid, details, prev_hash, digest = row
    if seq != expected:
        if isinstance(seq, int) and seq > expected:
            return f"entries {expected}..{seq - 1} are missing (deleted)"
        return f"sequence number {seq} repeats (inserted or reordered)"
    if prev_hash != prev:
        return "does not link to the entry before it (reordered or replaced)"
    if (
        _raw_hash(organization_id, seq, at, actor, role, action, otype, oid, details, prev)
        != digest
    ):
        return "its hash does not match its content (edited)"
    if entry_id < previous_id:
        return "stored out of order (reordered)"
    return None


@dataclass
class VerifyResult:
    entries: int = 0
    organizations: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, organization_id: int | None = None) -> VerifyResult:
    """Walk each chain; report the first bad entry of each organization's chain."""
    if organization_id is None:
        org_ids = list(
            session.scalars(
                select(AuditEntry.organization_id).distinct().order_by(AuditEntry.organization_id)
            )
        )
    else:
        org_ids = [organization_id]
    result = VerifyResult(organizations=len(org_ids))
    for org_id in org_ids:
        found = walk(session, org_id)
        # The bad entry counts as read, as it always has in this figure.
        result.entries += found.entries + (1 if found.problem else 0)
        if found.problem:
            result.problems.append(found.problem)
    return result


def count(session: Session, organization_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.organization_id == organization_id)
        )
        or 0
    )
