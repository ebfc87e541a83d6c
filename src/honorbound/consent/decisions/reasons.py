"""One function per reason code (model.REASONS): each answers, as a boolean mask, which items
that reason blocks. The engine ORs each mask's bit into the items' reasons; `invalid_item` is
the engine's (an item that could not be read is that reason alone).

Masks over the whole batch for the ledger and vault reasons; over the dial items (`Dial`: NANP
numbers called or texted for a solicitation purpose) for the telemarketing reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.consent import calling_hours, minors, overrides
from honorbound.consent.decisions.hours import HoursTables
from honorbound.consent.decisions.keying import phone_keys
from honorbound.consent.decisions.model import (
    CHANNEL_CODE,
    OPT_IN,
    OPT_OUT,
    PURPOSE_CODE,
    STATE_INDEX,
    STATES,
    Batch,
    Int64Array,
    Snapshot,
    lookup,
)
from honorbound.consent.models import ConsentChannel, Purpose
from honorbound.consent.rules import ContactRules

Mask = npt.NDArray[np.bool_]
_SENSITIVE = PURPOSE_CODE[Purpose.SENSITIVE_DATA_USE.value]
_VOICE = CHANNEL_CODE[ConsentChannel.VOICE.value]


# -- the ledger and the vault, every item ------------------------------------------------------
def opted_out(p_code: Int64Array, latest_act: npt.NDArray[np.int8]) -> Mask:
    """The person's latest choice for this purpose and channel is an opt-out."""
    return (latest_act == OPT_OUT) & (p_code != _SENSITIVE)  # type: ignore[no-any-return]


def sensitive_limited(p_code: Int64Array, latest_act: npt.NDArray[np.int8]) -> Mask:
    """An opt-out of sensitive data use: the right to limit (CCPA 1798.121)."""
    return (latest_act == OPT_OUT) & (p_code == _SENSITIVE)  # type: ignore[no-any-return]


def consent_required(
    rules: ContactRules, p_code: Int64Array, c_code: Int64Array, latest_act: npt.NDArray[np.int8]
) -> Mask:
    """The contact rules require an opt-in for this purpose and channel and there is no
    choice on record (an opt-out is already `opted_out`)."""
    required = np.zeros(len(p_code), dtype=bool)
    for purpose, channel in rules.consent_required:
        match = p_code == PURPOSE_CODE.get(purpose, -2)
        if channel != ConsentChannel.ALL.value:
            match &= c_code == CHANNEL_CODE.get(channel, -2)
        required |= match
    return required & (latest_act == 0)  # type: ignore[no-any-return]


def minor(limit: npt.NDArray[np.int8], latest_act: npt.NDArray[np.int8]) -> Mask:
    """A vault subject below the age the purpose needs: refused, or needing an opt-in that
    is not on record."""
    return (limit == minors.REFUSED) | ((limit == minors.OPT_IN_NEEDED) & (latest_act != OPT_IN))  # type: ignore[no-any-return]


# -- dial items ----------------------------------------------------------------------------------
@dataclass
class Dial:
    """The dial items of a batch: `idx` their positions, the other columns at those positions.
    `own_place`: the item names the callee's state or zone; `from_subject`: it does not, and
    the vault knows the subject's state (then that state's zones and rules apply)."""

    idx: npt.NDArray[np.intp]
    numbers: Int64Array
    npa: Int64Array
    keys: Int64Array
    at: Int64Array
    channels: Int64Array
    subject_state: npt.NDArray[np.int16]
    own_place: Mask
    from_subject: Mask


def dial_items(
    dial: Mask,
    mk: Int64Array,
    numbers: Int64Array,
    c_code: Int64Array,
    at_epoch: Int64Array,
    subject_state: npt.NDArray[np.int16],
    batch: Batch,
) -> Dial:
    idx = np.flatnonzero(dial)
    own_place = np.zeros(len(idx), dtype=bool)
    if batch.states is not None or batch.time_zones is not None:
        own_place = np.array(
            [
                bool(
                    (batch.states and batch.states[i]) or (batch.time_zones and batch.time_zones[i])
                )
                for i in idx.tolist()
            ],
            dtype=bool,
        )
    state = subject_state[idx]
    nums = numbers[idx]
    return Dial(
        idx=idx,
        numbers=nums,
        npa=nums // 10_000_000,
        keys=mk[idx],
        at=at_epoch[idx],
        channels=c_code[idx],
        subject_state=state,
        own_place=own_place,
        from_subject=(state > 0) & ~own_place,
    )


def national_dnc(snap: Snapshot, d: Dial, latest_act: npt.NDArray[np.int8]) -> Mask:
    """On the national registry. An opt-in for this purpose and channel is the consumer's
    express permission and overrides it (16 CFR 310.4(b)(1)(iii)(B)(1))."""
    on_national, _ = lookup(snap.national, d.numbers)
    return on_national & (latest_act[d.idx] != OPT_IN)  # type: ignore[no-any-return]


def company_dnc(snap: Snapshot, d: Dial) -> Mask:
    """On the organization's own list, not expired at the item's time."""
    return _listed(snap, d.keys, d.at)


def _listed(snap: Snapshot, keys: Int64Array, at: Int64Array) -> Mask:
    found, pos = lookup(snap.company, keys)
    listed: Mask = found & (snap.company_expiry[pos] > at if len(snap.company) else found)
    if snap.delta_company:
        for j, key in enumerate(keys.tolist()):
            expiry = snap.delta_company.get(int(key))
            if expiry is not None and expiry > at[j]:
                listed[j] = True
    return listed


def bpo_dnc(
    session: Session,
    organization_id: int,
    d: Dial,
    snapshot_of: Callable[[int], Snapshot],
    secret_of: Callable[[int], bytes],
) -> Mask:
    """On the company list of the BPO that dials for this organization. Its entries are keyed
    with the BPO's secret, so the numbers are keyed again here (dial items only); the BPO's
    snapshot is the same cached one its own decisions use."""
    none = np.zeros(len(d.idx), dtype=bool)
    bpo_id = session.scalar(
        select(Organization.operated_by_id).where(Organization.id == organization_id)
    )
    if bpo_id is None:
        return none
    bpo = snapshot_of(int(bpo_id))
    if not len(bpo.company) and not bpo.delta_company:
        return none
    keys = phone_keys(secret_of(int(bpo_id)), d.numbers).astype(np.int64)
    return _listed(bpo, keys, d.at)


def outside_calling_hours(tables: HoursTables, d: Dial, batch: Batch) -> Mask:
    """Outside the law's calling hours in the callee's place: the item's state or zone, else
    the vault subject's state, else every zone and state of the area code."""
    closed = np.zeros(len(d.idx), dtype=bool)
    minutes = d.at - d.at % 60
    for channel in (ConsentChannel.VOICE.value, ConsentChannel.SMS.value):
        on_channel = d.channels == CHANNEL_CODE[channel]
        sel = np.flatnonzero(on_channel & d.from_subject)
        if len(sel):
            closed[sel] |= ~_state_verdicts(tables, minutes[sel], d.subject_state[sel], channel)
        sel = np.flatnonzero(on_channel & ~d.own_place & ~d.from_subject)
        if len(sel):
            closed[sel] |= ~_area_verdicts(tables, minutes[sel], d.npa[sel], channel)
    for j in np.flatnonzero(d.own_place).tolist():
        closed[j] = not _own_place_open(tables.rules, d, j, batch)
    return closed


def _state_verdicts(
    tables: HoursTables, minutes: Int64Array, states: npt.NDArray[np.int16], channel: str
) -> Mask:
    # Decide each (minute, state) once.
    pairs, back = np.unique(minutes * 100 + states, return_inverse=True)
    verdicts = [
        tables.state_open(int(p // 100), STATES[int(p % 100)], channel) for p in pairs.tolist()
    ]
    return np.asarray(verdicts, dtype=bool)[back]


def _area_verdicts(tables: HoursTables, minutes: Int64Array, npa: Int64Array, channel: str) -> Mask:
    moments, inverse = np.unique(minutes, return_inverse=True)
    if len(moments) <= 32:
        # Few distinct minutes (a list called "now"): one table of 1,000 area codes each.
        is_open = np.empty(len(minutes), dtype=bool)
        for k, minute in enumerate(moments.tolist()):
            hit = inverse == k
            is_open[hit] = tables.area_open(int(minute), channel)[npa[hit]]
        return is_open
    # Many distinct times (scheduled calls): decide each (minute, area code) once.
    pairs, back = np.unique(minutes * 1000 + npa, return_inverse=True)
    verdicts = [
        tables.open_at(int(p // 1000), f"{int(p % 1000):03d}", channel) for p in pairs.tolist()
    ]
    return np.asarray(verdicts, dtype=bool)[back]


def _own_place_open(rules: ContactRules, d: Dial, j: int, batch: Batch) -> bool:
    i = int(d.idx[j])
    code = f"{int(d.npa[j]):03d}"
    state = batch.states[i] if batch.states else None
    zone = batch.time_zones[i] if batch.time_zones else None
    zones = (zone,) if zone else calling_hours.zones_for_area_code(code)
    states = frozenset({state.upper()}) if state else calling_hours.states_for_area_code(code)
    channel = ConsentChannel.VOICE.value if d.channels[j] == CHANNEL_CODE["voice"] else "sms"
    when = dt.datetime.fromtimestamp(int(d.at[j]), dt.UTC)
    return calling_hours.allowed_at(rules, when, zones, states, channel)


def outside_organization_hours(
    session: Session, organization_id: int, d: Dial, batch: Batch
) -> Mask:
    """Reason `outside_calling_hours` too: the organization's own calling hours, stricter than
    the law's (consent.overrides), in the callee's zone (the item's, else every zone of the
    area code)."""
    closed = np.zeros(len(d.idx), dtype=bool)
    hours = overrides.calling_hours_of(session, organization_id)
    if hours is None:
        return closed
    verdicts: dict[tuple[int, int, str], bool] = {}
    for j, i in enumerate(d.idx.tolist()):
        npa = int(d.npa[j])
        zone = (batch.time_zones[i] if batch.time_zones else None) or ""
        key = (int(d.at[j]) // 60, npa, zone)
        verdict = verdicts.get(key)
        if verdict is None:
            zones = (zone,) if zone else calling_hours.zones_for_area_code(f"{npa:03d}")
            when = dt.datetime.fromtimestamp(int(d.at[j]), dt.UTC)
            verdict = verdicts[key] = overrides.inside(hours, when, zones)
        closed[j] = not verdict
    return closed


def call_cap_reached(tables: HoursTables, snap: Snapshot, d: Dial, batch: Batch) -> Mask:
    """Voice calls over the cap, counted over the recorded attempts. Like calling hours, the
    callee's own state decides when known (the item's `state`, else the vault subject's), the
    area code's states otherwise."""
    area_caps, area_windows = tables.area_caps
    state_caps, state_windows = tables.state_caps
    item_caps = np.where(d.from_subject, state_caps[d.subject_state], area_caps[d.npa])
    item_windows = np.where(d.from_subject, state_windows[d.subject_state], area_windows[d.npa])
    if batch.states is not None:
        for j in np.flatnonzero(d.own_place).tolist():
            state = batch.states[int(d.idx[j])]
            if state:
                k = STATE_INDEX.get(state.upper(), 0)
                item_caps[j], item_windows[j] = state_caps[k], state_windows[k]
    reached = np.zeros(len(d.idx), dtype=bool)
    for j in np.flatnonzero((d.channels == _VOICE) & (item_caps > 0)).tolist():
        times = snap.attempts.get(int(d.keys[j]))
        if not times:
            continue
        at, window = int(d.at[j]), int(item_windows[j])
        reached[j] = sum(1 for t in times if at - window < t <= at) >= item_caps[j]
    return reached
