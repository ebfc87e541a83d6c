"""The decision engine: one per runtime (`Runtime.decisions`), answering contact decisions for
any organization from a cached snapshot per organization.

`decide` is a fixed sequence of named steps: read the batch's columns (`_columns`), key the
identities (`keying`), look up each person's latest choice and vault facts (`lookups`), then
one function per reason code (`reasons`). Snapshots are built and refreshed by `snapshots`;
this class holds them, with the lock and the background rebuild."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from honorbound.consent.decisions import reasons as why
from honorbound.consent.decisions import snapshots
from honorbound.consent.decisions.hours import HoursTables
from honorbound.consent.decisions.keying import Errors, key_identities
from honorbound.consent.decisions.lookups import latest_choices, subject_lookup
from honorbound.consent.decisions.model import (
    BIT,
    CHANNEL_CODE,
    DIAL_CHANNELS,
    PURPOSE_CODE,
    Batch,
    Decisions,
    Int64Array,
    Same,
    Snapshot,
    at_index,
    epoch,
    sender_scope,
)
from honorbound.consent.identity import Keys, match_secret
from honorbound.consent.models import ConsentChannel
from honorbound.consent.rules import ContactRules, load
from honorbound.db import changes
from honorbound.db.base import utcnow
from honorbound.db.engine import READ_ONLY
from honorbound.policy.jurisdictions import JurisdictionRules

_log = logging.getLogger(__name__)


@dataclass
class _Columns:
    """A batch's columns read once: purpose and channel codes (<= 0: not a valid one), the
    time of each item in epoch seconds, the kinds, and the problems found."""

    purposes: Sequence[Any]
    channels: Sequence[Any]
    p_code: Int64Array
    c_code: Int64Array
    at_epoch: Int64Array
    kinds: Sequence[Any]
    errors: Errors


class DecisionEngine:
    """Answers contact decisions for any organization; the runtime builds one per process."""

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
        # The runtime's contact rules; the shipped ones for callers without a runtime (bench).
        self.rules = rules or load()
        self._snapshots: dict[int, Snapshot] = {}
        self._lock = threading.Lock()
        self._rebuilding: set[int] = set()
        self._secrets: dict[int, bytes] = {}
        self.hours = HoursTables(self.rules)

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
            if snap is None or not snapshots.refresh(self, session, snap):
                snap = snapshots.build(self, session, organization_id, snap)
            # A refresh that skipped the in-place subject scan (at most every
            # SUBJECT_SCAN_EVERY) leaves the version unrecorded: the next batch looks again.
            snap.changes_version = -1 if snap.subject_scan_pending else version
            self._snapshots[organization_id] = snap
        self._maybe_rebuild_later(session, snap)
        return snap

    def _maybe_rebuild_later(self, session: Session, snap: Snapshot) -> None:
        old = utcnow() - snap.built_at > snapshots.MAX_SNAPSHOT_AGE
        large = (
            len(snap.delta_identities) + len(snap.delta_subjects)
            > snapshots.REBUILD_AFTER_DELTA // 2
        )
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
                fresh = snapshots.build(self, session, organization_id, previous)
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

    def secret(self, organization_id: int) -> bytes:
        """The organization's match-key secret (cached: deriving it costs a key derivation)."""
        secret = self._secrets.get(organization_id)
        if secret is None:
            secret = self._secrets[organization_id] = match_secret(self.keys, organization_id)
        return secret

    # -- deciding ----------------------------------------------------------------------------
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
        expanded, origin = _expand_channels(batch, wide)
        result = self._decide(session, organization_id, expanded)
        reasons = np.zeros(n, dtype=np.int32)
        np.bitwise_or.at(reasons, np.asarray(origin, dtype=np.int64), result.reasons)
        errors: Errors = {}
        for r, found in result.errors.items():
            merged = errors.setdefault(origin[r], [])
            merged.extend(e for e in found if e not in merged)
        for i in errors:
            reasons[i] = BIT["invalid_item"]
        return Decisions(reasons == 0, reasons, errors, result.warnings)

    def _decide(self, session: Session, organization_id: int, batch: Batch) -> Decisions:
        snap = self.snapshot(session, organization_id)
        now = utcnow()
        cols = _columns(batch, now)
        mk, numbers = key_identities(
            self.secret(organization_id),
            batch.identities,
            cols.kinds,
            batch.item_errors,
            cols.errors,
        )
        senders = None
        if batch.senders is not None:
            senders = [sender_scope(s, cols.channels[i]) for i, s in enumerate(batch.senders)]
        latest_act = latest_choices(
            session, organization_id, snap, mk, cols.p_code, cols.c_code,
            cols.purposes, cols.channels, senders,
        )  # fmt: skip
        limit, subject_state = subject_lookup(snap, mk, cols.p_code)
        reasons = np.zeros(len(mk), dtype=np.int32)
        reasons[why.opted_out(cols.p_code, latest_act)] |= BIT["opted_out"]
        reasons[why.sensitive_limited(cols.p_code, latest_act)] |= BIT["sensitive_limited"]
        required = why.consent_required(self.rules, cols.p_code, cols.c_code, latest_act)
        reasons[required] |= BIT["consent_required"]
        reasons[why.minor(limit, latest_act)] |= BIT["minor"]
        dial = self._dial_mask(cols, numbers)
        if dial.any():
            d = why.dial_items(dial, mk, numbers, cols.c_code, cols.at_epoch, subject_state, batch)
            self._dial_reasons(session, organization_id, snap, d, latest_act, reasons, batch)
        for i in cols.errors:
            reasons[i] = BIT["invalid_item"]
        warnings = snapshots.warnings(self.rules, snap, now)
        return Decisions(reasons == 0, reasons, cols.errors, warnings)

    def _dial_mask(self, cols: _Columns, numbers: Int64Array) -> npt.NDArray[np.bool_]:
        """Calls and texts for a solicitation purpose to NANP phone numbers (`numbers` is 0
        for email, other kinds and foreign numbers): the telemarketing rules apply."""
        solicitation = np.isin(
            cols.p_code,
            [PURPOSE_CODE[p] for p in self.rules.solicitation_purposes if p in PURPOSE_CODE],
        )
        on_dial = np.isin(cols.c_code, [CHANNEL_CODE[c] for c in DIAL_CHANNELS])
        return solicitation & on_dial & (numbers > 0)

    def _dial_reasons(
        self,
        session: Session,
        organization_id: int,
        snap: Snapshot,
        d: why.Dial,
        latest_act: npt.NDArray[np.int8],
        reasons: npt.NDArray[np.int32],
        batch: Batch,
    ) -> None:
        def bpo_snapshot(bpo_id: int) -> Snapshot:
            return self.snapshot(session, bpo_id)

        marks = (
            ("national_dnc", why.national_dnc(snap, d, latest_act)),
            ("company_dnc", why.company_dnc(snap, d)),
            ("outside_calling_hours", why.outside_calling_hours(self.hours, d, batch)),
            ("call_cap_reached", why.call_cap_reached(self.hours, snap, d, batch)),
            ("bpo_dnc", why.bpo_dnc(session, organization_id, d, bpo_snapshot, self.secret)),
            (
                "outside_calling_hours",
                why.outside_organization_hours(session, organization_id, d, batch),
            ),
        )
        for reason, mask in marks:
            reasons[d.idx[mask]] |= BIT[reason]


def _columns(batch: Batch, now: dt.datetime) -> _Columns:
    """Read the batch's purpose, channel, time and kind columns (one value may stand for
    all); an item with an unknown purpose or channel gets its problem (unless it already
    failed when read)."""
    n = len(batch.identities)
    errors: Errors = {i: list(found) for i, found in batch.item_errors.items()}

    def column(value: Any, name: str) -> Sequence[Any]:
        if value is None or isinstance(value, (str, dt.datetime)):
            return Same(value, n)
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values for {n} identities")
        return list(value)

    def codes(values: Sequence[Any], table: dict[str, int]) -> Int64Array:
        if isinstance(values, Same):
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
    if isinstance(ats, Same):
        at_epoch = np.full(n, epoch(ats.value or now), dtype=np.int64)
    else:
        at_epoch = np.fromiter((epoch(a or now) for a in ats), np.int64, n)
    kinds = column(batch.kinds, "kind")
    return _Columns(purposes, channels, p_code, c_code, at_epoch, kinds, errors)


def _expand_channels(batch: Batch, wide: list[int]) -> tuple[Batch, list[int]]:
    """The batch with each `all` item once per concrete channel; row r stands for item
    origin[r]. An item's read errors go with its first row."""
    concrete = [c.value for c in ConsentChannel if c is not ConsentChannel.ALL]
    origin: list[int] = []
    channel: list[str] = []
    is_wide = set(wide)
    for i in range(len(batch.identities)):
        if i in is_wide:
            origin.extend([i] * len(concrete))
            channel.extend(concrete)
        else:
            origin.append(i)
            channel.append(str(at_index(batch.channel, i)))

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
    return expanded, origin
