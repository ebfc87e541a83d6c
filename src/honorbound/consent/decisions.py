"""Contact decisions: may we call, text or email this identity for this purpose, now?

The engine keeps one compact in-memory snapshot per organization:

* consent events collapsed to the latest choice per (identity, purpose, channel, scope), by when
  the person made it (`ledger.precedence`, not recording order), as one sorted int64 array of
  composite keys (48 bits of the identity's match key, 5 bits purpose, 3 bits channel, 8 bits
  scope) with the winning choice's rank (`precedence_rank`) and action;
* the national do-not-call registry as a sorted int64 array of 10-digit numbers;
* company do-not-call match keys with their expiry;
* recent call attempts, for the call caps;
* what the vault knows about the person behind an identity (`consent.subject_facts`): their US
  state (calling hours then use its time zones) and, for minors, per purpose whether an opt-in
  is needed or the contact is refused (reason `minor`), as a sorted array of match keys.

A batch is answered with `numpy.searchsorted`, vectorised. Revocations take effect at once: on
every batch the engine asks the database for events, DNC requests and attempts newer than its
snapshot (one indexed query each) and answers the identities they touch from the database
directly; past a threshold, or when the national registry was re-imported, it rebuilds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, ColumnElement, case, cast, func, select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.consent import calling_hours, ledger, minors, overrides, subject_facts
from honorbound.consent.identity import (
    Keys,
    guess_kind,
    match_key,
    match_secret,
    nanp_digits,
    plain_nanp,
)
from honorbound.consent.models import (
    Action,
    CallAttempt,
    CompanyDnc,
    ConsentChannel,
    ConsentEvent,
    NationalDncImport,
    NationalDncNumber,
    Purpose,
)
from honorbound.consent.rules import ContactRules, load
from honorbound.db import changes
from honorbound.db.base import utcnow
from honorbound.db.engine import READ_ONLY
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize

Int64Array = npt.NDArray[np.int64]
_log = logging.getLogger(__name__)

# Stable reason codes, in bit order. Append only: the order is the bitmask.
REASONS = (
    "opted_out",
    "national_dnc",
    "company_dnc",
    "outside_calling_hours",
    "call_cap_reached",
    "consent_required",
    "sensitive_limited",
    "invalid_item",
    "minor",
    # On the list of the BPO that dials for this organization (a request addressed to the
    # call center itself binds it for every client: contact-rules.yaml company_dnc.binds).
    "bpo_dnc",
)
BIT = {name: 1 << i for i, name in enumerate(REASONS)}

PURPOSE_CODE = {p.value: i for i, p in enumerate(Purpose)}  # ALL is 0
CHANNEL_CODE = {c.value: i for i, c in enumerate(ConsentChannel)}  # ALL is 0
ANY_SCOPE = 255
OPT_OUT, OPT_IN = 1, 2
_ACTION_CODE = {Action.OPT_OUT.value: OPT_OUT, Action.OPT_IN.value: OPT_IN}
IDENTITY_MASK = np.int64(~0xFFFF)
_STATES = ("", *sorted(calling_hours.US_STATE_CODES))
_STATE_INDEX = {state: i for i, state in enumerate(_STATES)}
REBUILD_AFTER_DELTA = 5000
_CHUNK = 200_000
MAX_SNAPSHOT_AGE = dt.timedelta(hours=1)
SUBJECT_SCAN_EVERY = dt.timedelta(seconds=10)
_DIAL_CHANNELS = frozenset({ConsentChannel.VOICE.value, ConsentChannel.SMS.value})


@cache
def reason_names(mask: int) -> tuple[str, ...]:
    return tuple(name for name, bit in BIT.items() if mask & bit)


def composite(keys: Int64Array, purpose: Any, channel: Any, scope: Any) -> Int64Array:
    return (keys & IDENTITY_MASK) | (np.int64(purpose) << 11) | (np.int64(channel) << 8) | scope  # type: ignore[no-any-return]


class _Same(Sequence[Any]):
    """One value standing for a whole column (the common case: one purpose for a list)."""

    def __init__(self, value: Any, n: int) -> None:
        self.value = value
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        return self.value


@dataclass
class Snapshot:
    organization_id: int
    built_at: dt.datetime
    max_event_id: int
    max_dnc_id: int
    max_attempt_id: int
    national_import_id: int
    keys: Int64Array  # composite, sorted, unique
    ranks: Int64Array  # the deciding event's `precedence_rank`
    actions: npt.NDArray[np.int8]
    identities: Int64Array  # keys >> 16, sorted unique: "has any event" test
    scopes: dict[str, int]
    national: Int64Array
    national_as_of: dt.date | None
    company: Int64Array  # match keys, sorted unique
    company_expiry: Int64Array  # epoch seconds
    attempts: dict[int, list[int]]  # match key -> epoch seconds
    # Vault subjects: match keys (sorted unique), state index (0: unknown; see _STATES) and
    # per purpose code the minors limit (minors.OPT_IN_NEEDED / REFUSED).
    subject_keys: Int64Array = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    subject_states: npt.NDArray[np.int16] = field(
        default_factory=lambda: np.empty(0, dtype=np.int16)
    )
    minor_limits: npt.NDArray[np.int8] = field(
        default_factory=lambda: np.empty((0, len(PURPOSE_CODE)), dtype=np.int8)
    )
    max_identity_id: int = 0
    subjects_seen_at: dt.datetime | None = None
    policy_version_id: int | None = None
    delta_identities: set[int] = field(default_factory=set)
    delta_company: dict[int, int] = field(default_factory=dict)
    delta_subjects: dict[int, subject_facts.SubjectFact | None] = field(default_factory=dict)
    # The organization's `decisions_version` (db.changes) this snapshot and its deltas are
    # known to include; -1: unknown, ask the database for what changed.
    changes_version: int = -1
    subject_scan_pending: bool = False


@dataclass
class Decisions:
    allowed: npt.NDArray[np.bool_]
    reasons: npt.NDArray[np.int32]
    errors: dict[int, list[tuple[str, str]]]
    warnings: list[str]

    def __len__(self) -> int:
        return len(self.allowed)

    def reasons_of(self, i: int) -> tuple[str, ...]:
        return reason_names(int(self.reasons[i]))


@dataclass
class Batch:
    """Columns of a decision batch. `purpose`/`channel`/`at` may be one value for all items."""

    identities: Sequence[str]
    purpose: str | Sequence[str]
    channel: str | Sequence[str]
    at: dt.datetime | Sequence[dt.datetime | None] | None = None
    kinds: Sequence[str | None] | None = None
    senders: Sequence[str | None] | None = None
    states: Sequence[str | None] | None = None
    time_zones: Sequence[str | None] | None = None
    # Problems found while reading the items (e.g. a bad `at`): those items fail alone.
    item_errors: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def _at(column: Any, i: int) -> Any:
    return column if isinstance(column, str) else column[i]


def sender_scope(sender: str | None, channel: str | None) -> str | None:
    """The ledger's spelling of a sender: E.164 for our phone numbers, as given for lists."""
    if sender is None or channel not in _DIAL_CHANNELS:
        return sender
    digits = nanp_digits(sender)
    return f"+1{digits}" if digits is not None else sender


NO_RANK = np.iinfo(np.int64).min
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def precedence_rank(dialect: str) -> ColumnElement[int]:
    """`ledger.precedence` as one int64 per event, computed by the database so a snapshot of
    millions of events parses no timestamps in Python: microseconds of `occurred_at` since
    1970, times two, plus one for an opt-out (at the same instant the opt-out wins). Exact
    (integer arithmetic); ties between identical choices do not change the action."""
    opt_out = case((ConsentEvent.action == Action.OPT_OUT.value, 1), else_=0)
    at = ConsentEvent.occurred_at
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds, then the fraction.
        micros = cast(func.strftime("%s", func.substr(at, 1, 19)), BigInteger) * 1_000_000 + cast(
            func.substr(at, 21, 6), BigInteger
        )
    else:
        micros = cast(func.extract("epoch", at) * 1_000_000, BigInteger)
    return (micros * 2 + opt_out).label("rank")


def rank_of(event: ConsentEvent) -> int:
    """The same rank in Python (events answered from the database, tests)."""
    micros = (event.occurred_at - _EPOCH) // dt.timedelta(microseconds=1)
    return micros * 2 + (1 if event.action == Action.OPT_OUT.value else 0)


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def _sorted_unique_max(keys: Int64Array, values: Int64Array) -> tuple[Int64Array, Int64Array]:
    if len(keys) == 0:
        return keys, values
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    return keys[last], values[last]


def _lookup(sorted_keys: Int64Array, wanted: Int64Array) -> tuple[Any, Any]:
    """(found mask, positions) of `wanted` in `sorted_keys`."""
    if len(sorted_keys) == 0:
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), dtype=np.int64)
    if len(wanted) > 1024 and len(sorted_keys) > 65536:
        # Sorted probes walk the big array in order (numpy narrows each search from the
        # previous one): several times faster than random probes once it outgrows the cache.
        order = np.argsort(wanted, kind="stable")
        pos = np.empty(len(wanted), dtype=np.intp)
        pos[order] = np.searchsorted(sorted_keys, wanted[order])
    else:
        pos = np.searchsorted(sorted_keys, wanted)
    np.minimum(pos, len(sorted_keys) - 1, out=pos)
    return sorted_keys[pos] == wanted, pos


class DecisionEngine:
    """Answers contact decisions for any organization; one per process is enough."""

    def __init__(
        self,
        keys: Keys,
        rules: ContactRules | None = None,
        vault_keys: Any = None,
        laws: JurisdictionRules | None = None,
    ) -> None:
        self.keys = keys
        # The runtime's jurisdiction rules (minors' rows per state); needed with `vault_keys`.
        self.laws = laws
        # The vault's key store, to read subjects' ages and states; None: decide without them.
        self.vault_keys = vault_keys
        self.rules = rules or load()
        self._snapshots: dict[int, Snapshot] = {}
        self._lock = threading.Lock()
        self._rebuilding: set[int] = set()
        self._secrets: dict[int, bytes] = {}
        self._area_tables: dict[tuple[int, str], npt.NDArray[np.bool_]] = {}
        self._caps = self._cap_table()
        self._state_caps = self._state_cap_table()

    # -- snapshot ------------------------------------------------------------------------
    def invalidate(self, organization_id: int) -> None:
        with self._lock:
            self._snapshots.pop(organization_id, None)

    def invalidate_all(self) -> None:
        with self._lock:
            self._snapshots.clear()

    def snapshot(self, session: Session, organization_id: int) -> Snapshot:
        """The organization's snapshot, current as of this session's read.

        One indexed read per batch when nothing changed (the organization's change counter,
        bumped by triggers in every writing transaction); otherwise the delta since the last
        look. The hourly rebuild, and a rebuild once the delta grows large, run in a
        background thread and are swapped in whole; only the first batch of an organization
        (no snapshot yet), a new national registry import or a new policy version wait for a
        build (their answers depend on it)."""
        # Read before anything else: whatever the queries below see is at least this new.
        version = changes.versions(session, organization_id)[1]
        snap = self._snapshots.get(organization_id)
        if snap is not None and snap.changes_version == version:
            self._maybe_rebuild_later(session, snap)
            return snap
        with self._lock:
            snap = self._snapshots.get(organization_id)
            if snap is not None and snap.changes_version == version:
                return snap
            if snap is None or not self._refresh(session, snap):
                snap = self._build(session, organization_id, snap)
            # A refresh that skipped the in-place subject scan (at most every
            # SUBJECT_SCAN_EVERY) leaves the version unrecorded: the next batch looks again.
            snap.changes_version = -1 if snap.subject_scan_pending else version
            self._snapshots[organization_id] = snap
        self._maybe_rebuild_later(session, snap)
        return snap

    def _maybe_rebuild_later(self, session: Session, snap: Snapshot) -> None:
        old = utcnow() - snap.built_at > MAX_SNAPSHOT_AGE
        large = len(snap.delta_identities) + len(snap.delta_subjects) > REBUILD_AFTER_DELTA // 2
        if not (old or large):
            return
        org = snap.organization_id
        with self._lock:
            if org in self._rebuilding:
                return
            self._rebuilding.add(org)
        bind = session.get_bind()
        thread = threading.Thread(
            target=self._rebuild, args=(bind, org), name=f"snapshot-{org}", daemon=True
        )
        thread.start()

    def _rebuild(self, bind: Any, organization_id: int) -> None:
        """Build a new snapshot off the request path (own read-only session), then swap it in."""
        try:
            options: dict[str, Any] = {READ_ONLY: True}
            if bind.dialect.name == "postgresql":
                options["postgresql_readonly"] = True
            with Session(bind.execution_options(**options)) as session:
                version = changes.versions(session, organization_id)[1]
                previous = self._snapshots.get(organization_id)
                fresh = self._build(session, organization_id, previous)
                # Writes after that read are found by the next batch's delta (by id).
                fresh.changes_version = version
                session.rollback()
            with self._lock:
                self._snapshots[organization_id] = fresh
        except Exception:  # noqa: BLE001 - the next batch tries again; requests keep the old one
            _log.exception("snapshot rebuild failed for organization %s", organization_id)
        finally:
            with self._lock:
                self._rebuilding.discard(organization_id)

    def _build(
        self, session: Session, organization_id: int, previous: Snapshot | None = None
    ) -> Snapshot:
        built_at = utcnow()
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
            .execution_options(yield_per=_CHUNK)
        )
        scopes: dict[str, int] = {"": 0}

        def scope_code(scope: str) -> int:
            code = scopes.get(scope)
            if code is None:
                # Past 254 distinct senders/lists, scopes share codes: conservative (an
                # opt-out from one then also blocks its code-mates), see docs/consent.md.
                code = (
                    len(scopes) if len(scopes) < ANY_SCOPE else 1 + zlib.crc32(scope.encode()) % 254
                )
                scopes[scope] = code
            return code

        parts: list[tuple[Int64Array, ...]] = []
        for chunk in result.partitions(_CHUNK):
            m = len(chunk)
            parts.append(
                (
                    np.fromiter((r[0] for r in chunk), dtype=np.int64, count=m),
                    np.fromiter((r[1] for r in chunk), dtype=np.int64, count=m),
                    np.fromiter((r[2] for r in chunk), dtype=np.int64, count=m),
                    np.fromiter((PURPOSE_CODE[r[3]] for r in chunk), dtype=np.int64, count=m),
                    np.fromiter((CHANNEL_CODE[r[4]] for r in chunk), dtype=np.int64, count=m),
                    np.fromiter((scope_code(r[5]) for r in chunk), dtype=np.int64, count=m),
                    np.fromiter((_ACTION_CODE[r[6]] for r in chunk), dtype=np.int64, count=m),
                )
            )
        if parts:
            ids, ranks, mks, pc, cc, sc, ac = (
                np.concatenate(column) for column in zip(*parts, strict=True)
            )
        else:
            ids, ranks, mks, pc, cc, sc, ac = (np.empty(0, dtype=np.int64) for _ in range(7))
        del parts
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
        any_keys, any_ranks = _sorted_unique_max(
            (keys[scoped_out] & np.int64(~0xFF)) | np.int64(ANY_SCOPE), ranks[scoped_out]
        )
        keys = np.concatenate([keys, any_keys])
        ranks = np.concatenate([ranks, any_ranks])
        ac = np.concatenate([ac, np.full(len(any_keys), OPT_OUT, dtype=np.int64)])
        order = np.argsort(keys, kind="stable")
        keys, ranks, actions = keys[order], ranks[order], ac[order].astype(np.int8)

        latest = self._latest_import(session, organization_id)
        national: Int64Array
        import_id: int
        as_of: dt.date | None
        if previous is not None and latest is not None and previous.national_import_id == latest.id:
            # The registry did not change: keep the array (10 million rows take a while).
            national, import_id, as_of = previous.national, latest.id, latest.registry_date
        else:
            national, import_id, as_of = self._load_national(session, organization_id)
        company, expiry, max_dnc = self._load_company(session, organization_id, built_at)
        attempts, max_attempt = self._load_attempts(session, organization_id, built_at)
        max_identity = subject_facts.max_identity_id(session, organization_id)
        children = minors.children_policy(session, organization_id)
        facts = self._load_subjects(session, organization_id, children)
        subject_keys = np.fromiter(facts, dtype=np.int64, count=len(facts))
        order = np.argsort(subject_keys)
        subject_keys = subject_keys[order]
        states = np.zeros(len(facts), dtype=np.int16)
        limits = np.zeros((len(facts), len(PURPOSE_CODE)), dtype=np.int8)
        values = list(facts.values())
        for row, k in enumerate(order.tolist()):
            fact = values[k]
            if fact is not None:
                states[row], limits[row] = self._fact_row(fact)
        return Snapshot(
            organization_id=organization_id,
            built_at=built_at,
            max_event_id=max_event,
            max_dnc_id=max_dnc,
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

    def _load_subjects(
        self,
        session: Session,
        organization_id: int,
        children: minors.ChildrenPolicy,
        subject_ids: set[int] | None = None,
    ) -> dict[int, subject_facts.SubjectFact | None]:
        if self.vault_keys is None or self.laws is None:
            return {}
        return subject_facts.load(
            session,
            self.vault_keys,
            self._secret(organization_id),
            organization_id,
            self.rules,
            children,
            self.laws,
            subject_ids,
        )

    @staticmethod
    def _fact_row(fact: subject_facts.SubjectFact) -> tuple[int, npt.NDArray[np.int8]]:
        row = np.zeros(len(PURPOSE_CODE), dtype=np.int8)
        for purpose, level in fact.limits.items():
            code = PURPOSE_CODE.get(purpose)
            if code is not None:
                row[code] = level
        return _STATE_INDEX.get(fact.state or "", 0), row

    def _latest_import(self, session: Session, organization_id: int) -> NationalDncImport | None:
        return session.scalar(
            select(NationalDncImport)
            .where(NationalDncImport.organization_id == organization_id)
            .order_by(NationalDncImport.id.desc())
            .limit(1)
        )

    def _load_national(
        self, session: Session, organization_id: int
    ) -> tuple[Int64Array, int, dt.date | None]:
        latest = self._latest_import(session, organization_id)
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
                part = cursor.fetchmany(_CHUNK)
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
        self, session: Session, organization_id: int, now: dt.datetime
    ) -> tuple[Int64Array, Int64Array, int]:
        rows = session.execute(
            select(CompanyDnc.id, CompanyDnc.match_key, CompanyDnc.expires_at).where(
                CompanyDnc.organization_id == organization_id, CompanyDnc.expires_at > now
            )
        ).all()
        max_id = int(
            session.scalar(
                select(func.coalesce(func.max(CompanyDnc.id), 0)).where(
                    CompanyDnc.organization_id == organization_id
                )
            )
            or 0
        )
        keys = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        expiry = np.fromiter((_epoch(r[2]) for r in rows), dtype=np.int64, count=len(rows))
        keys, expiry = _sorted_unique_max(keys, expiry)
        return keys, expiry, max_id

    def _attempt_horizon(self, now: dt.datetime) -> dt.datetime:
        longest = max((c.window for c in self.rules.call_caps), default=dt.timedelta(0))
        return now - longest - MAX_SNAPSHOT_AGE - dt.timedelta(hours=1)

    def _load_attempts(
        self, session: Session, organization_id: int, now: dt.datetime, after_id: int = 0
    ) -> tuple[dict[int, list[int]], int]:
        query = select(CallAttempt.id, CallAttempt.match_key, CallAttempt.called_at).where(
            CallAttempt.organization_id == organization_id, CallAttempt.id > after_id
        )
        if not after_id:
            query = query.where(CallAttempt.called_at >= self._attempt_horizon(now))
        attempts: dict[int, list[int]] = {}
        max_id = after_id
        for attempt_id, key, called_at in session.execute(query):
            attempts.setdefault(int(key), []).append(_epoch(called_at))
            max_id = max(max_id, int(attempt_id))
        return attempts, max_id

    def _refresh(self, session: Session, snap: Snapshot) -> bool:
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
        latest = self._latest_import(session, org)
        if (latest.id if latest else 0) != snap.national_import_id:
            return False
        for dnc_id, key, expires in session.execute(
            select(CompanyDnc.id, CompanyDnc.match_key, CompanyDnc.expires_at).where(
                CompanyDnc.organization_id == org, CompanyDnc.id > snap.max_dnc_id
            )
        ):
            snap.delta_company[int(key)] = max(snap.delta_company.get(int(key), 0), _epoch(expires))
            snap.max_dnc_id = max(snap.max_dnc_id, int(dnc_id))
        attempts, snap.max_attempt_id = self._load_attempts(
            session, org, utcnow(), snap.max_attempt_id
        )
        for key, times in attempts.items():
            snap.attempts.setdefault(key, []).extend(times)
        if self.vault_keys is None:
            return True
        if minors.current_version_id(session, org) != snap.policy_version_id:
            return False  # a new declaration may change the children's minimum age
        # Subjects added or touched since the last look: re-read them alone.
        # New identities (an indexed id range) every batch; subjects whose age or state was
        # updated in place (an unindexed scan) at most every SUBJECT_SCAN_EVERY.
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
            snap.delta_subjects.update(self._load_subjects(session, org, children, changed))
        snap.max_identity_id = highest
        snap.subject_scan_pending = not scan
        if scan:
            snap.subjects_seen_at = seen_at
        return True

    # -- per-area-code tables --------------------------------------------------------------
    def _cap_table(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        caps = np.zeros(1000, dtype=np.int64)
        windows = np.zeros(1000, dtype=np.int64)
        for npa in range(200, 1000):
            cap = calling_hours.cap_for(
                self.rules, calling_hours.states_for_area_code(f"{npa:03d}")
            )
            if cap is not None:
                caps[npa], windows[npa] = cap[0], int(cap[1].total_seconds())
        return caps, windows

    def _state_cap_table(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Call cap and window per state index (see _STATES; 0, unknown, has none)."""
        caps = np.zeros(len(_STATES), dtype=np.int64)
        windows = np.zeros(len(_STATES), dtype=np.int64)
        for k, state in enumerate(_STATES):
            cap = calling_hours.cap_for(self.rules, frozenset({state})) if state else None
            if cap is not None:
                caps[k], windows[k] = cap[0], int(cap[1].total_seconds())
        return caps, windows

    def _hours_table(self, at: int, channel: str) -> npt.NDArray[np.bool_]:
        """Allowed-now per area code for one instant (cached by the minute)."""
        minute = at - at % 60
        cached = self._area_tables.get((minute, channel))
        if cached is not None:
            return cached
        when = dt.datetime.fromtimestamp(minute, dt.UTC)
        table = np.zeros(1000, dtype=bool)
        for npa in range(200, 1000):
            code = f"{npa:03d}"
            table[npa] = calling_hours.allowed_at(
                self.rules,
                when,
                calling_hours.zones_for_area_code(code),
                calling_hours.states_for_area_code(code),
                channel,
            )
        if len(self._area_tables) > 256:
            self._area_tables.clear()
        self._area_tables[(minute, channel)] = table
        return table

    def _state_open(self, minute: int, state: str, channel: str) -> bool:
        return calling_hours.allowed_at(
            self.rules,
            dt.datetime.fromtimestamp(minute, dt.UTC),
            calling_hours.zones_for_state(state),
            frozenset({state}),
            channel,
        )

    def _open_at(self, minute: int, npa: str, channel: str) -> bool:
        return calling_hours.allowed_at(
            self.rules,
            dt.datetime.fromtimestamp(minute, dt.UTC),
            calling_hours.zones_for_area_code(npa),
            calling_hours.states_for_area_code(npa),
            channel,
        )

    # -- deciding ----------------------------------------------------------------------------
    def _secret(self, organization_id: int) -> bytes:
        secret = self._secrets.get(organization_id)
        if secret is None:
            secret = self._secrets[organization_id] = match_secret(self.keys, organization_id)
        return secret

    def decide(self, session: Session, organization_id: int, batch: Batch) -> Decisions:
        """Decide every item. An item with channel `all` ("on every channel": an advertising
        platform's sale or targeting check, a campaign across channels) is decided once per
        channel and allowed only when every channel allows it, its reasons the union."""
        channels = batch.channel
        if isinstance(channels, str):
            wide = list(range(len(batch.identities))) if channels == ConsentChannel.ALL else []
        else:
            wide = [i for i, c in enumerate(channels) if c == ConsentChannel.ALL]
        if not wide:
            return self._decide(session, organization_id, batch)
        return self._decide_every_channel(session, organization_id, batch, wide)

    def _decide_every_channel(
        self, session: Session, organization_id: int, batch: Batch, wide: list[int]
    ) -> Decisions:
        n = len(batch.identities)
        concrete = [c.value for c in ConsentChannel if c is not ConsentChannel.ALL]
        # Row r of the expanded batch stands for item origin[r]: items with a channel once,
        # `all` items once per channel.
        origin: list[int] = []
        channel: list[str] = []
        is_wide = set(wide)
        for i in range(n):
            if i in is_wide:
                origin.extend([i] * len(concrete))
                channel.extend(concrete)
            else:
                origin.append(i)
                channel.append(str(_at(batch.channel, i)))

        def spread(values: Any) -> Any:
            if values is None or isinstance(values, (str, dt.datetime)):
                return values
            return [values[i] for i in origin]

        first_row: dict[int, int] = {}
        for r, i in enumerate(origin):
            first_row.setdefault(i, r)
        expanded = Batch(
            identities=[batch.identities[i] for i in origin],
            purpose=spread(batch.purpose),
            channel=channel,
            at=spread(batch.at),
            kinds=spread(batch.kinds),
            senders=spread(batch.senders),
            states=spread(batch.states),
            time_zones=spread(batch.time_zones),
            item_errors={first_row[i]: e for i, e in batch.item_errors.items()},
        )
        result = self._decide(session, organization_id, expanded)
        reasons = np.zeros(n, dtype=np.int32)
        np.bitwise_or.at(reasons, np.asarray(origin, dtype=np.int64), result.reasons)
        errors: dict[int, list[tuple[str, str]]] = {}
        for r, found in result.errors.items():
            merged = errors.setdefault(origin[r], [])
            merged.extend(e for e in found if e not in merged)
        for i in errors:
            reasons[i] = BIT["invalid_item"]
        return Decisions(reasons == 0, reasons, errors, result.warnings)

    def _decide(self, session: Session, organization_id: int, batch: Batch) -> Decisions:
        n = len(batch.identities)
        errors: dict[int, list[tuple[str, str]]] = {
            i: list(found) for i, found in batch.item_errors.items()
        }
        snap = self.snapshot(session, organization_id)
        now = utcnow()

        def column(value: Any, name: str) -> Sequence[Any]:
            if value is None or isinstance(value, (str, dt.datetime)):
                return _Same(value, n)
            if len(value) != n:
                raise ValueError(f"{name} has {len(value)} values for {n} identities")
            return list(value)

        def codes(values: Sequence[Any], table: dict[str, int]) -> Int64Array:
            if isinstance(values, _Same):
                return np.full(n, table.get(values.value or "", -1), dtype=np.int64)
            return np.fromiter((table.get(v or "", -1) for v in values), np.int64, n)

        purposes = column(batch.purpose, "purpose")
        channels = column(batch.channel, "channel")
        p_code = codes(purposes, PURPOSE_CODE)
        c_code = codes(channels, CHANNEL_CODE)
        for i in np.flatnonzero((p_code <= 0) | (c_code <= 0)).tolist():
            if i in batch.item_errors:
                continue
            if p_code[i] <= 0:
                errors.setdefault(i, []).append(
                    ("purpose", "purpose must be one of the consent purposes (not 'all')")
                )
            if c_code[i] <= 0:
                errors.setdefault(i, []).append(
                    ("channel", "channel must be one of email, sms, voice, mail, fax, all")
                )
        ats = column(batch.at, "at")
        if isinstance(ats, _Same):
            at_epoch = np.full(n, _epoch(ats.value or now), dtype=np.int64)
        else:
            at_epoch = np.fromiter((_epoch(a or now) for a in ats), np.int64, n)
        kinds = column(batch.kinds, "kind")

        # Normalise and key every identity. Plainly written NANP numbers (the bulk of a
        # campaign list) are parsed vectorised; everything else goes through the vault's
        # normalisation one by one.
        secret = self._secret(organization_id)
        blake = hashlib.blake2b
        identities = batch.identities
        mk = np.zeros(n, dtype=np.int64)
        numbers = np.zeros(n, dtype=np.int64)
        if isinstance(kinds, _Same) and kinds.value in (None, "phone"):
            fast, fast_numbers = plain_nanp(identities)
        else:
            fast, fast_numbers = np.zeros(n, dtype=bool), np.zeros(0, dtype=np.int64)
        if fast.any():
            # A keyed BLAKE2b state already fed "phone:+1": copying it skips the key setup.
            phone_state = blake(b"phone:+1", key=secret, digest_size=8)
            raw = fast_numbers.astype("S10").tobytes()
            copy = phone_state.copy
            digests: list[bytes] = []
            add = digests.append
            for offset in range(0, len(raw), 10):
                state = copy()
                state.update(raw[offset : offset + 10])
                add(state.digest())
            mk[fast] = np.frombuffer(b"".join(digests), dtype=">i8")
            numbers[fast] = fast_numbers
        for i in np.flatnonzero(~fast).tolist():
            value, kind = identities[i], kinds[i]
            if not isinstance(value, str) or not value:
                if i not in batch.item_errors:
                    errors.setdefault(i, []).append(
                        ("identity", "identity must be a non-empty string")
                    )
                continue
            if kind is None or kind == "phone":
                slow = nanp_digits(value) if (kind or "@" not in value) else None
                if slow is not None:
                    digest = blake(b"phone:+1" + slow.encode(), key=secret, digest_size=8)
                    mk[i] = int.from_bytes(digest.digest(), "big", signed=True)
                    numbers[i] = int(slow)
                    continue
            try:
                resolved = IdentityKind(kind) if kind else guess_kind(value)
                normalized = normalize(resolved, value)
            except (InvalidIdentity, ValueError) as exc:
                errors.setdefault(i, []).append(("identity", str(exc)))
                continue
            if resolved is IdentityKind.PHONE and normalized.startswith("+1"):
                numbers[i] = int(normalized[2:])
            mk[i] = match_key(secret, resolved.value, normalized)

        reasons = np.zeros(n, dtype=np.int32)
        senders = None
        if batch.senders is not None:
            senders = [sender_scope(sender, channels[i]) for i, sender in enumerate(batch.senders)]
        _, latest_act = self._ledger_lookup(snap, mk, p_code, c_code, senders, n)
        if snap.delta_identities:
            delta = list(snap.delta_identities)  # a copy: another batch may be refreshing it
            touched = np.flatnonzero(np.isin(mk, np.array(delta, dtype=np.int64)))
            if len(touched):
                self._ledger_from_db(
                    session,
                    organization_id,
                    snap,
                    touched,
                    mk,
                    purposes,
                    channels,
                    senders,
                    latest_act,
                )

        sensitive = p_code == PURPOSE_CODE[Purpose.SENSITIVE_DATA_USE.value]
        out = latest_act == OPT_OUT
        reasons[out & ~sensitive] |= BIT["opted_out"]
        reasons[out & sensitive] |= BIT["sensitive_limited"]
        required = np.zeros(n, dtype=bool)
        for purpose, channel in self.rules.consent_required:
            pc = PURPOSE_CODE.get(purpose, -2)
            match = p_code == pc
            if channel != ConsentChannel.ALL.value:
                match &= c_code == CHANNEL_CODE.get(channel, -2)
            required |= match
        reasons[required & (latest_act == 0)] |= BIT["consent_required"]

        limit, subject_state = self._subject_lookup(snap, mk, p_code, n)
        minor = (limit == minors.REFUSED) | (
            (limit == minors.OPT_IN_NEEDED) & (latest_act != OPT_IN)
        )
        reasons[minor] |= BIT["minor"]

        solicitation = np.isin(
            p_code, [PURPOSE_CODE[p] for p in self.rules.solicitation_purposes if p in PURPOSE_CODE]
        )
        # NANP phone numbers only (`numbers` is 0 for email, other kinds and foreign numbers).
        dial = (
            solicitation
            & np.isin(c_code, [CHANNEL_CODE[c] for c in _DIAL_CHANNELS])
            & (numbers > 0)
        )
        if dial.any():
            self._dial_checks(
                snap, dial, mk, numbers, c_code, at_epoch, latest_act, reasons, batch, subject_state
            )
            self._telemarketer_checks(session, organization_id, dial, numbers, at_epoch, reasons)
            self._override_checks(session, organization_id, dial, numbers, at_epoch, reasons, batch)

        for i in errors:
            reasons[i] = BIT["invalid_item"]
        warnings = self._warnings(snap, now)
        return Decisions(reasons == 0, reasons, errors, warnings)

    def _subject_lookup(
        self, snap: Snapshot, mk: Int64Array, p_code: Int64Array, n: int
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int16]]:
        """Per item: the minors limit for its purpose, and the subject's state index."""
        limit = np.zeros(n, dtype=np.int8)
        state = np.zeros(n, dtype=np.int16)
        purpose = np.clip(p_code, 0, len(PURPOSE_CODE) - 1)
        found, pos = _lookup(snap.subject_keys, mk)
        if found.any():
            limit[found] = snap.minor_limits[pos[found], purpose[found]]
            state[found] = snap.subject_states[pos[found]]
        if snap.delta_subjects:
            delta = dict(snap.delta_subjects)  # a copy: another batch may be refreshing it
            touched = np.flatnonzero(np.isin(mk, np.fromiter(delta, dtype=np.int64)))
            for i in touched.tolist():
                fact = delta[int(mk[i])]
                if fact is None:
                    limit[i], state[i] = 0, 0
                else:
                    state[i], row = self._fact_row(fact)
                    limit[i] = row[purpose[i]]
        return limit, state

    def _ledger_lookup(
        self,
        snap: Snapshot,
        mk: Int64Array,
        p_code: Int64Array,
        c_code: Int64Array,
        senders: Sequence[str | None] | None,
        n: int,
    ) -> tuple[Int64Array, npt.NDArray[np.int8]]:
        latest_rank = np.full(n, NO_RANK, dtype=np.int64)
        latest_act = np.zeros(n, dtype=np.int8)
        has, _ = _lookup(snap.identities, mk >> 16)
        idx = np.flatnonzero(has & (p_code > 0) & (c_code > 0))
        if len(idx) == 0:
            return latest_rank, latest_act
        keys, pcs, ccs = mk[idx], p_code[idx], c_code[idx]
        if senders is None:
            scoped = np.full(len(idx), ANY_SCOPE, dtype=np.int64)
        else:
            codes = [
                ANY_SCOPE if senders[i] is None else snap.scopes.get(str(senders[i]), 0)
                for i in idx.tolist()
            ]
            scoped = np.asarray(codes, dtype=np.int64)
        best_rank = np.full(len(idx), NO_RANK, dtype=np.int64)
        best_act = np.zeros(len(idx), dtype=np.int8)
        for purpose in (pcs, np.int64(0)):
            for channel in (ccs, np.int64(0)):
                for scope in (np.int64(0), scoped):
                    found, pos = _lookup(snap.keys, composite(keys, purpose, channel, scope))
                    ranks = np.where(found, snap.ranks[pos], NO_RANK)
                    newer = found & (ranks > best_rank)
                    best_rank = np.where(newer, ranks, best_rank)
                    best_act = np.where(newer, snap.actions[pos], best_act)
        latest_rank[idx] = best_rank
        latest_act[idx] = best_act
        return latest_rank, latest_act

    def _ledger_from_db(
        self,
        session: Session,
        organization_id: int,
        snap: Snapshot,
        touched: npt.NDArray[np.intp],
        mk: Int64Array,
        purposes: Sequence[Any],
        channels: Sequence[Any],
        senders: Sequence[str | None] | None,
        latest_act: npt.NDArray[np.int8],
    ) -> None:
        """Identities with events newer than the snapshot: answer from their full history."""
        wanted = sorted({int(mk[i]) for i in touched.tolist()})
        histories: dict[int, list[ConsentEvent]] = {}
        for start in range(0, len(wanted), 500):
            for event in session.scalars(
                select(ConsentEvent)
                .where(
                    ConsentEvent.organization_id == organization_id,
                    ConsentEvent.match_key.in_(wanted[start : start + 500]),
                )
                .order_by(ConsentEvent.id)
            ):
                histories.setdefault(event.match_key, []).append(event)
        for i in touched.tolist():
            if purposes[i] not in PURPOSE_CODE or channels[i] not in CHANNEL_CODE:
                continue
            sender = senders[i] if senders is not None else None
            decisive = ledger.effective_action(
                histories.get(int(mk[i]), []), purposes[i], channels[i], sender
            )
            latest_act[i] = 0 if decisive is None else _ACTION_CODE[decisive.action]

    def _dial_checks(
        self,
        snap: Snapshot,
        dial: npt.NDArray[np.bool_],
        mk: Int64Array,
        numbers: Int64Array,
        c_code: Int64Array,
        at_epoch: Int64Array,
        latest_act: npt.NDArray[np.int8],
        reasons: npt.NDArray[np.int32],
        batch: Batch,
        subject_state: npt.NDArray[np.int16],
    ) -> None:
        idx = np.flatnonzero(dial)
        nums = numbers[idx]
        # National registry: an opt-in for this purpose and channel is the consumer's express
        # permission and overrides it (16 CFR 310.4(b)(1)(iii)(B)(1)).
        on_national, _ = _lookup(snap.national, nums)
        reasons[idx[on_national & (latest_act[idx] != OPT_IN)]] |= BIT["national_dnc"]
        # Company list.
        found, pos = _lookup(snap.company, mk[idx])
        listed = found & (snap.company_expiry[pos] > at_epoch[idx] if len(snap.company) else found)
        if snap.delta_company:
            for j, i in enumerate(idx.tolist()):
                expiry = snap.delta_company.get(int(mk[i]))
                if expiry is not None and expiry > at_epoch[i]:
                    listed[j] = True
        reasons[idx[listed]] |= BIT["company_dnc"]
        # Calling hours, per area code, unless the item names the callee's zone/state or the
        # vault knows the subject's state (then that state's zones and rules).
        npa = nums // 10_000_000
        own_place = np.zeros(len(idx), dtype=bool)
        from_subject = subject_state[idx] > 0
        if batch.states is not None or batch.time_zones is not None:
            own_place = np.array(
                [
                    bool(
                        (batch.states and batch.states[i])
                        or (batch.time_zones and batch.time_zones[i])
                    )
                    for i in idx.tolist()
                ],
                dtype=bool,
            )
        from_subject &= ~own_place
        minutes = at_epoch[idx] - at_epoch[idx] % 60
        for channel in (ConsentChannel.VOICE.value, ConsentChannel.SMS.value):
            on_channel = c_code[idx] == CHANNEL_CODE[channel]
            sel = np.flatnonzero(on_channel & from_subject)
            if len(sel):
                # Decide each (minute, state) once.
                pairs, back = np.unique(
                    minutes[sel] * 100 + subject_state[idx[sel]], return_inverse=True
                )
                verdicts = [
                    self._state_open(int(p // 100), _STATES[int(p % 100)], channel)
                    for p in pairs.tolist()
                ]
                closed = ~np.asarray(verdicts, dtype=bool)[back]
                reasons[idx[sel[closed]]] |= BIT["outside_calling_hours"]
            sel = np.flatnonzero(on_channel & ~own_place & ~from_subject)
            if len(sel) == 0:
                continue
            moments, inverse = np.unique(minutes[sel], return_inverse=True)
            if len(moments) <= 32:
                # Few distinct minutes (a list called "now"): one table of 1,000 area codes each.
                is_open = np.empty(len(sel), dtype=bool)
                for k, minute in enumerate(moments.tolist()):
                    hit = inverse == k
                    is_open[hit] = self._hours_table(int(minute), channel)[npa[sel[hit]]]
            else:
                # Many distinct times (scheduled calls): decide each (minute, area code) once.
                pairs, back = np.unique(minutes[sel] * 1000 + npa[sel], return_inverse=True)
                verdicts = [
                    self._open_at(int(p // 1000), f"{int(p % 1000):03d}", channel)
                    for p in pairs.tolist()
                ]
                is_open = np.asarray(verdicts, dtype=bool)[back]
            reasons[idx[sel[~is_open]]] |= BIT["outside_calling_hours"]
        for j in np.flatnonzero(own_place).tolist():
            i = int(idx[j])
            code = f"{int(npa[j]):03d}"
            state = batch.states[i] if batch.states else None
            zone = batch.time_zones[i] if batch.time_zones else None
            zones = (zone,) if zone else calling_hours.zones_for_area_code(code)
            states = (
                frozenset({state.upper()}) if state else calling_hours.states_for_area_code(code)
            )
            channel = ConsentChannel.VOICE.value if c_code[i] == CHANNEL_CODE["voice"] else "sms"
            when = dt.datetime.fromtimestamp(int(at_epoch[i]), dt.UTC)
            if not calling_hours.allowed_at(self.rules, when, zones, states, channel):
                reasons[i] |= BIT["outside_calling_hours"]
        # Call caps (voice), counted over the recorded attempts. Like calling hours, the
        # callee's own state decides when known (the item's `state`, else the vault subject's),
        # the area code's states otherwise.
        area_caps, area_windows = self._caps
        state_caps, state_windows = self._state_caps
        item_caps = np.where(from_subject, state_caps[subject_state[idx]], area_caps[npa])
        item_windows = np.where(from_subject, state_windows[subject_state[idx]], area_windows[npa])
        if batch.states is not None:
            for j in np.flatnonzero(own_place).tolist():
                state = batch.states[int(idx[j])]
                if state:
                    k = _STATE_INDEX.get(state.upper(), 0)
                    item_caps[j], item_windows[j] = state_caps[k], state_windows[k]
        voice = c_code[idx] == CHANNEL_CODE[ConsentChannel.VOICE.value]
        capped = voice & (item_caps > 0)
        for j in np.flatnonzero(capped).tolist():
            i = int(idx[j])
            times = snap.attempts.get(int(mk[i]))
            if not times:
                continue
            at, window = int(at_epoch[i]), int(item_windows[j])
            if sum(1 for t in times if at - window < t <= at) >= item_caps[j]:
                reasons[i] |= BIT["call_cap_reached"]

    def _override_checks(
        self,
        session: Session,
        organization_id: int,
        dial: npt.NDArray[np.bool_],
        numbers: Int64Array,
        at_epoch: Int64Array,
        reasons: npt.NDArray[np.int32],
        batch: Batch,
    ) -> None:
        """The organization's own calling hours, stricter than the law's (consent.overrides),
        in the callee's zone (the item's, else every zone of the area code)."""
        hours = overrides.calling_hours_of(session, organization_id)
        if hours is None:
            return
        verdicts: dict[tuple[int, int, str], bool] = {}
        for i in np.flatnonzero(dial).tolist():
            npa = int(numbers[i]) // 10_000_000
            zone = (batch.time_zones[i] if batch.time_zones else None) or ""
            key = (int(at_epoch[i]) // 60, npa, zone)
            verdict = verdicts.get(key)
            if verdict is None:
                zones = (zone,) if zone else calling_hours.zones_for_area_code(f"{npa:03d}")
                when = dt.datetime.fromtimestamp(int(at_epoch[i]), dt.UTC)
                verdict = verdicts[key] = overrides.inside(hours, when, zones)
            if not verdict:
                reasons[i] |= BIT["outside_calling_hours"]

    def _telemarketer_checks(
        self,
        session: Session,
        organization_id: int,
        dial: npt.NDArray[np.bool_],
        numbers: Int64Array,
        at_epoch: Int64Array,
        reasons: npt.NDArray[np.int32],
    ) -> None:
        """The operating BPO's own company list, for an organization a BPO dials for. Its
        entries are keyed with the BPO's secret, so the numbers are keyed again here (dial
        items only); the BPO's snapshot is the same cached one its own decisions use."""
        bpo_id = session.scalar(
            select(Organization.operated_by_id).where(Organization.id == organization_id)
        )
        if bpo_id is None:
            return
        bpo = self.snapshot(session, int(bpo_id))
        if not len(bpo.company) and not bpo.delta_company:
            return
        idx = np.flatnonzero(dial)
        state = hashlib.blake2b(b"phone:+1", key=self._secret(int(bpo_id)), digest_size=8)
        raw = numbers[idx].astype("S10").tobytes()
        digests: list[bytes] = []
        for offset in range(0, len(raw), 10):
            one = state.copy()
            one.update(raw[offset : offset + 10])
            digests.append(one.digest())
        keys = np.frombuffer(b"".join(digests), dtype=">i8").astype(np.int64)
        found, pos = _lookup(bpo.company, keys)
        listed = found & (bpo.company_expiry[pos] > at_epoch[idx] if len(bpo.company) else found)
        for j, key in enumerate(keys.tolist()):
            expiry = bpo.delta_company.get(int(key))
            if expiry is not None and expiry > at_epoch[idx[j]]:
                listed[j] = True
        reasons[idx[listed]] |= BIT["bpo_dnc"]

    def _warnings(self, snap: Snapshot, now: dt.datetime) -> list[str]:
        if snap.national_as_of is None:
            return ["national_dnc_registry_missing"]
        age = (now.date() - snap.national_as_of).days
        if age > self.rules.national_dnc_max_age_days:
            return ["national_dnc_registry_stale"]
        return []


ITEM_FIELDS = frozenset(
    {"identity", "kind", "purpose", "channel", "at", "sender", "state", "time_zone"}
)
MAX_ITEMS = 100_000


def _text(item: dict[str, Any], name: str, limit: int) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{name} must be a string of at most {limit} characters")
    return value


_SIMPLE_FIELDS = frozenset({"identity", "purpose", "channel", "at"})
_AT_MESSAGE = "at must be an ISO 8601 time with a zone, e.g. 2026-05-01T14:00:00Z"


def _parse_at(raw: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _one_or_all(values: list[Any]) -> Any:
    """The single value when every item has the same one (lets `decide` skip per-item work)."""
    if values and all(v is values[0] or v == values[0] for v in values):
        return values[0]
    return values


def batch_from_items(items: Sequence[Any]) -> Batch:
    """Read JSON items `{identity, purpose, channel, at?, kind?, sender?, state?, time_zone?}`.
    A malformed item is marked invalid on its own; the others are decided normally."""
    n = len(items)
    identities: list[str] = [""] * n
    purposes: list[str] = [""] * n
    channels: list[str] = [""] * n
    ats: list[dt.datetime | None] = [None] * n
    kinds: list[str | None] = [None] * n
    senders: list[str | None] = [None] * n
    states: list[str | None] = [None] * n
    zones: list[str | None] = [None] * n
    errors: dict[int, list[tuple[str, str]]] = {}
    any_sender = any_place = any_kind = False
    parsed_at: dict[str, dt.datetime | None] = {}
    for i, item in enumerate(items):
        if type(item) is dict and item.keys() <= _SIMPLE_FIELDS:
            # The common shape, checked inline: four short strings.
            identity, purpose, channel = (
                item.get("identity"),
                item.get("purpose"),
                item.get("channel"),
            )
            raw_at = item.get("at")
            if (
                type(identity) is str
                and type(purpose) is str
                and type(channel) is str
                and len(identity) <= 254
                and len(purpose) <= 32
                and len(channel) <= 8
                and (raw_at is None or (type(raw_at) is str and len(raw_at) <= 40))
            ):
                identities[i], purposes[i], channels[i] = identity, purpose, channel
                if raw_at is not None:
                    if raw_at in parsed_at:
                        when = parsed_at[raw_at]
                    else:
                        when = parsed_at[raw_at] = _parse_at(raw_at)
                    if when is None:
                        errors[i] = [("at", _AT_MESSAGE)]
                    ats[i] = when
                continue
        if not isinstance(item, dict):
            errors[i] = [("item", "each item must be an object")]
            continue
        problems: list[tuple[str, str]] = []
        unknown = sorted(set(item) - ITEM_FIELDS)
        if unknown:
            problems.append(
                (unknown[0], f"unknown field; allowed: {', '.join(sorted(ITEM_FIELDS))}")
            )
        for name, limit in (
            ("identity", 254),
            ("purpose", 32),
            ("channel", 8),
            ("kind", 16),
            ("sender", 120),
            ("state", 2),
            ("time_zone", 64),
            ("at", 40),
        ):
            try:
                _text(item, name, limit)
            except ValueError as exc:
                problems.append((name, str(exc)))
        if problems:
            errors[i] = problems
            continue
        identities[i] = item.get("identity") or ""
        purposes[i] = item.get("purpose") or ""
        channels[i] = item.get("channel") or ""
        kind = item.get("kind")
        if kind is not None and kind not in {k.value for k in IdentityKind}:
            errors.setdefault(i, []).append(
                ("kind", "kind must be email, phone or another identity kind")
            )
        kinds[i] = kind
        any_kind |= kind is not None
        senders[i] = item.get("sender")
        any_sender |= senders[i] is not None
        state = item.get("state")
        if state is not None and state.upper() not in calling_hours.STATE_CODES.values():
            errors.setdefault(i, []).append(("state", "state must be a USPS code such as TX"))
        states[i] = state.upper() if state else None
        zone = item.get("time_zone")
        if zone is not None and not calling_hours.known_zone(zone):
            errors.setdefault(i, []).append(("time_zone", "time_zone must be an IANA zone name"))
        zones[i] = zone
        any_place |= bool(state or zone)
        raw_at = item.get("at")
        if raw_at is not None:
            parsed = _parse_at(raw_at)
            if parsed is None:
                errors.setdefault(i, []).append(("at", _AT_MESSAGE))
            else:
                ats[i] = parsed
    return Batch(
        identities=identities,
        purpose=_one_or_all(purposes),
        channel=_one_or_all(channels),
        at=_one_or_all(ats),
        kinds=kinds if any_kind else None,
        senders=senders if any_sender else None,
        states=states if any_place else None,
        time_zones=zones if any_place else None,
        item_errors=errors,
    )
