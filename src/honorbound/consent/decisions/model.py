"""What the decision modules share: reason codes, the snapshot, a batch and its answer, the
composite key layout and the sorted-array helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, ColumnElement, case, cast, func

from honorbound.consent import calling_hours, subject_facts
from honorbound.consent.identity import nanp_digits
from honorbound.consent.models import Action, ConsentChannel, ConsentEvent, Purpose

Int64Array = npt.NDArray[np.int64]

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
ACTION_CODE = {Action.OPT_OUT.value: OPT_OUT, Action.OPT_IN.value: OPT_IN}
IDENTITY_MASK = np.int64(~0xFFFF)
STATES = ("", *sorted(calling_hours.US_STATE_CODES))
STATE_INDEX = {state: i for i, state in enumerate(STATES)}
DIAL_CHANNELS = frozenset({ConsentChannel.VOICE.value, ConsentChannel.SMS.value})
NO_RANK = np.iinfo(np.int64).min
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@cache
def reason_names(mask: int) -> tuple[str, ...]:
    return tuple(name for name, bit in BIT.items() if mask & bit)


def composite(keys: Int64Array, purpose: Any, channel: Any, scope: Any) -> Int64Array:
    return (keys & IDENTITY_MASK) | (np.int64(purpose) << 11) | (np.int64(channel) << 8) | scope  # type: ignore[no-any-return]


class Same(Sequence[Any]):
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
    # Vault subjects: match keys (sorted unique), state index (0: unknown; see STATES) and
    # per purpose code the minors limit (minors.OPT_IN_NEEDED / REFUSED).
    subject_keys: Int64Array = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    subject_states: npt.NDArray[np.int16] = field(
        default_factory=lambda: np.empty(0, dtype=np.int16)
    )
    minor_limits: npt.NDArray[np.int8] = field(
        default_factory=lambda: np.empty((0, len(PURPOSE_CODE)), dtype=np.int8)
    )
    max_identity_id: int = 0
    company_rows: int = 0  # company DNC rows with id <= max_dnc_id (a removal lowers it)
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


def at_index(column: Any, i: int) -> Any:
    return column if isinstance(column, str) else column[i]


def sender_scope(sender: str | None, channel: str | None) -> str | None:
    """The ledger's spelling of a sender: E.164 for our phone numbers, as given for lists."""
    if sender is None or channel not in DIAL_CHANNELS:
        return sender
    digits = nanp_digits(sender)
    return f"+1{digits}" if digits is not None else sender


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


def epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def sorted_unique_max(keys: Int64Array, values: Int64Array) -> tuple[Int64Array, Int64Array]:
    if len(keys) == 0:
        return keys, values
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    return keys[last], values[last]


def lookup(sorted_keys: Int64Array, wanted: Int64Array) -> tuple[Any, Any]:
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
