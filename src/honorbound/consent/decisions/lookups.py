"""Per item, what the snapshot (and, for identities changed since it, the database) knows: the
person's latest choice for the purpose and channel, and the vault subject's minors limit and
state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.consent import ledger
from honorbound.consent.decisions.model import (
    ACTION_CODE,
    ANY_SCOPE,
    CHANNEL_CODE,
    NO_RANK,
    PURPOSE_CODE,
    Int64Array,
    Snapshot,
    composite,
    lookup,
)
from honorbound.consent.decisions.snapshots import fact_row
from honorbound.consent.models import ConsentEvent


def latest_choices(
    session: Session,
    organization_id: int,
    snap: Snapshot,
    mk: Int64Array,
    p_code: Int64Array,
    c_code: Int64Array,
    purposes: Sequence[Any],
    channels: Sequence[Any],
    senders: Sequence[str | None] | None,
) -> npt.NDArray[np.int8]:
    """Per item the deciding action (OPT_OUT, OPT_IN; 0: no choice on record)."""
    n = len(mk)
    _, latest_act = _ledger_lookup(snap, mk, p_code, c_code, senders, n)
    if snap.delta_identities:
        delta = list(snap.delta_identities)  # a copy: another batch may be refreshing it
        touched = np.flatnonzero(np.isin(mk, np.array(delta, dtype=np.int64)))
        if len(touched):
            _ledger_from_db(
                session, organization_id, touched, mk, purposes, channels, senders, latest_act
            )
    return latest_act


def _ledger_lookup(
    snap: Snapshot,
    mk: Int64Array,
    p_code: Int64Array,
    c_code: Int64Array,
    senders: Sequence[str | None] | None,
    n: int,
) -> tuple[Int64Array, npt.NDArray[np.int8]]:
    latest_rank = np.full(n, NO_RANK, dtype=np.int64)
    latest_act = np.zeros(n, dtype=np.int8)
    has, _ = lookup(snap.identities, mk >> 16)
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
                found, pos = lookup(snap.keys, composite(keys, purpose, channel, scope))
                ranks = np.where(found, snap.ranks[pos], NO_RANK)
                newer = found & (ranks > best_rank)
                best_rank = np.where(newer, ranks, best_rank)
                best_act = np.where(newer, snap.actions[pos], best_act)
    latest_rank[idx] = best_rank
    latest_act[idx] = best_act
    return latest_rank, latest_act


def _ledger_from_db(
    session: Session,
    organization_id: int,
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
        latest_act[i] = 0 if decisive is None else ACTION_CODE[decisive.action]


def subject_lookup(
    snap: Snapshot, mk: Int64Array, p_code: Int64Array
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int16]]:
    """Per item: the minors limit for its purpose, and the subject's state index."""
    n = len(mk)
    limit = np.zeros(n, dtype=np.int8)
    state = np.zeros(n, dtype=np.int16)
    purpose = np.clip(p_code, 0, len(PURPOSE_CODE) - 1)
    found, pos = lookup(snap.subject_keys, mk)
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
                state[i], row = fact_row(fact)
                limit[i] = row[purpose[i]]
    return limit, state
