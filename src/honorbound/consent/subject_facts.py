"""What the vault knows about the person behind an identity, keyed for the decision snapshot.

For every vault subject with a known US state or age, each of their identities is opened once
(with the subject's data key), keyed with the consent match key, and given the subject's state
and the per-purpose limits that apply to a minor (`consent.minors`). Subjects with neither are
skipped, so the cost grows with the subjects the vault knows an age or state for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from honorbound.consent import calling_hours, minors
from honorbound.consent.identity import match_key
from honorbound.consent.rules import ContactRules
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.vault.keystore import KeyDestroyed
from honorbound.vault.models import Identity, Subject, SubjectStatus
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import subject_age

_BATCH = 500


@dataclass(frozen=True)
class SubjectFact:
    state: str | None  # USPS code of the subject's jurisdiction, when it is a known one
    limits: dict[str, int]  # purpose -> minors.OPT_IN_NEEDED | minors.REFUSED


def max_identity_id(session: Session, organization_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(Identity.id), 0)).where(
                Identity.organization_id == organization_id
            )
        )
        or 0
    )


def changed_subject_ids(
    session: Session,
    organization_id: int,
    after_identity_id: int,
    since: dt.datetime | None,
    limit: int,
) -> tuple[set[int], int]:
    """Subjects with identities added after `after_identity_id` or, unless `since` is None,
    touched since `since` (upserts and merges bump `last_activity_at`; that column has no
    index, so callers ask for it sparingly), and the new highest identity id."""
    found: set[int] = set()
    highest = after_identity_id
    for identity_id, subject_id in session.execute(
        select(Identity.id, Identity.subject_id)
        .where(Identity.organization_id == organization_id, Identity.id > after_identity_id)
        .limit(limit + 1)
    ):
        found.add(int(subject_id))
        highest = max(highest, int(identity_id))
    if since is None:
        return found, highest
    found.update(
        int(subject_id)
        for subject_id in session.scalars(
            select(Subject.id)
            .where(Subject.organization_id == organization_id, Subject.last_activity_at > since)
            .limit(limit + 1)
        )
    )
    return found, highest


def _subjects(
    session: Session, organization_id: int, subject_ids: Collection[int] | None
) -> Iterator[Subject]:
    query = select(Subject).where(
        Subject.organization_id == organization_id,
        Subject.status != SubjectStatus.ERASED.value,
    )
    if subject_ids is None:
        eligible = or_(
            Subject.jurisdiction.is_not(None),
            Subject.birth_date_sealed.is_not(None),
            Subject.age_sealed.is_not(None),
        )
        yield from session.scalars(
            query.where(eligible).order_by(Subject.id).execution_options(yield_per=_BATCH)
        )
        return
    wanted = sorted(subject_ids)
    for start in range(0, len(wanted), _BATCH):
        yield from session.scalars(query.where(Subject.id.in_(wanted[start : start + _BATCH])))


def load(
    session: Session,
    vault_keys: Any,
    secret: bytes,
    organization_id: int,
    rules: ContactRules,
    children: minors.ChildrenPolicy,
    jurisdictions: JurisdictionRules,
    subject_ids: Collection[int] | None = None,
    today: dt.date | None = None,
) -> dict[int, SubjectFact | None]:
    """Match key -> fact for the identities of `subject_ids` (None: every subject with a state
    or an age). A subject asked for by id with neither maps its keys to None (clears them)."""
    today = today or dt.datetime.now(dt.UTC).date()
    facts: dict[int, SubjectFact | None] = {}
    pending: dict[int, Subject] = {}
    out: dict[int, SubjectFact | None] = {}

    def flush() -> None:
        if not pending:
            return
        for kind, sealed, subject_id in session.execute(
            select(Identity.kind, Identity.value_sealed, Identity.subject_id).where(
                Identity.organization_id == organization_id,
                Identity.subject_id.in_(list(pending)),
            )
        ):
            subject = pending[subject_id]
            try:
                dek = vault_keys.data_key(organization_id, subject.key_id)
            except KeyDestroyed:  # crypto-shredded between the two queries: nothing to read
                continue
            value = open_text(dek, organization_id, subject.key_id, f"identity:{kind}", sealed)
            out[match_key(secret, kind, value)] = facts[subject_id]
        pending.clear()

    for subject in _subjects(session, organization_id, subject_ids):
        state = (subject.jurisdiction or "").upper()
        known_state = state if state in calling_hours.US_STATE_CODES else None
        try:
            age = subject_age(vault_keys, subject, today)
        except KeyDestroyed:  # erased (keys shredded) but not yet marked: nothing to read
            continue
        limits = (
            minors.requirements(rules.minors, jurisdictions, children, age, known_state, today)
            if age is not None
            else {}
        )
        if known_state is None and not limits:
            if subject_ids is None:
                continue
            facts[subject.id] = None
        else:
            facts[subject.id] = SubjectFact(known_state, limits)
        pending[subject.id] = subject
        if len(pending) >= _BATCH:
            flush()
    flush()
    return out
