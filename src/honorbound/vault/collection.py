"""Adding records and interactions: the declaration's rules first, then screening, then sealing.

Nothing is written when a rule refuses: the checks run before the first row is added, and the
caller's unit of work rolls back on any exception.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.db.engine import Database
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.vault.consents import Consent, meet
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Channel, Direction, Interaction, Record, Subject, SubjectStatus
from honorbound.vault.rules import (
    CollectionRefused,
    CollectionRules,
    check_collection,
    check_recording,
    check_text,
    check_time,
    current_rules,
    is_below_minimum_age,
    no_policy,
)
from honorbound.vault.screening import Screened, parse_birth_date, screen
from honorbound.vault.sealing import seal_text
from honorbound.vault.subjects import (
    BelowMinimumAge,
    SubjectNotFound,
    get_subject,
    learn_birth_dates,
    subject_age,
)

__all__ = [
    "AddedInteraction",
    "Consent",
    "Ingested",
    "NewInteraction",
    "add_interaction",
    "add_record",
    "ingest_interactions",
]


@dataclass(frozen=True)
class NewInteraction:
    channel: Channel
    direction: Direction
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    agent: str | None = None
    text: str | None = None
    recording_uri: str | None = None
    recording_sha256: str | None = None
    tags: Sequence[str] = ()


def _live_subject(
    session: Session, keys: KeyStore, organization_id: int, subject_id: int, rules: CollectionRules
) -> Subject:
    return check_live(keys, get_subject(session, organization_id, subject_id), rules)


def check_live(keys: KeyStore, subject: Subject, rules: CollectionRules) -> Subject:
    """The subject, if data may still be collected about them: not erased, not below the
    declaration's minimum age."""
    if subject.status == SubjectStatus.ERASED.value:
        raise SubjectNotFound("that subject has been erased")
    if rules.minimum_age is not None and is_below_minimum_age(rules, subject_age(keys, subject)):
        raise BelowMinimumAge(rules.minimum_age, "body.subject_id", subject.id)
    return subject


def _touch(subject: Subject, at: dt.datetime) -> None:
    subject.last_activity_at = max(subject.last_activity_at, at) if subject.last_activity_at else at
    if subject.status == SubjectStatus.DORMANT.value:
        subject.status = SubjectStatus.ACTIVE.value


def add_record(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    subject_id: int,
    category: str,
    value: str,
    purposes: Sequence[str],
    source: str,
    actor: Actor,
    rules: CollectionRules,
    consent: Consent | None = None,
    collected_at: dt.datetime | None = None,
) -> Record:
    """Store one value of a declared category. Raises `CollectionRefused` naming the rule.

    Consent comes from the consent ledger (`vault.consents`): a recorded opt-out refuses the
    record whatever `consent` says; with nothing on file, `consent.opt_in` is recorded in the
    ledger as a claim with its source. A birth date (a record of the date-of-birth category)
    counts for the minimum age like one sent with the subject."""
    now = utcnow()
    at = check_time(rules, collected_at, "body.collected_at", now) if collected_at else now
    subject = _live_subject(session, keys, organization_id, subject_id, rules)
    checked = check_collection(
        rules, category, purposes, subject.jurisdiction, subject.type, source
    )
    if rules.is_birth_date(category):
        born = parse_birth_date(value)
        if born is None:
            raise CollectionRefused(
                "birth_date_unreadable",
                "body.value",
                f"a value of category '{category}' must be a date (2014-05-03, May 3, 2014, ...) "
                "so the minimum age can be checked",
            )
        learn_birth_dates(keys, subject, [born], rules, "body.value")
    evidence = meet(session, keys, subject, checked.needs, consent, actor)
    opt_in = True if checked.needs else (consent.opt_in if consent else None)
    dek = keys.data_key(organization_id, subject.key_id)
    kept_consent: dict[str, Any] | None = None
    if consent is not None or checked.needs:
        kept_consent = {
            "opt_in": bool(opt_in),
            "evidence": consent.evidence if consent else {},
            "ledger_event_ids": list(evidence.event_ids),
        }
    record = Record(
        organization_id=organization_id,
        subject_id=subject.id,
        category=category,
        purposes=list(purposes),
        source=source,
        policy_version_id=rules.policy_version_id,
        collected_at=at,
        value_sealed=seal_text(dek, organization_id, subject.key_id, f"record:{category}", value),
        consent_opt_in=opt_in,
        consent_sealed=(
            seal_text(
                dek,
                organization_id,
                subject.key_id,
                "consent",
                json.dumps(kept_consent, sort_keys=True, default=str),
            )
            if kept_consent is not None
            else None
        ),
    )
    session.add(record)
    _touch(subject, at)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "record.added",
        "record",
        record.id,
        {
            "subject_id": subject.id,
            "category": category,
            "purposes": list(purposes),
            "policy_version_id": rules.policy_version_id,
            **({"consent_event_ids": list(evidence.event_ids)} if evidence.event_ids else {}),
        },
    )
    return record


@dataclass(frozen=True)
class AddedInteraction:
    interaction: Interaction
    findings: dict[str, int]
    original_kept: bool
    # (kind, start, end) of the requests said in the text, for honorbound.intents.
    intents: tuple[tuple[str, int, int], ...] = ()


def add_interaction(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    subject_id: int,
    new: NewInteraction,
    actor: Actor,
    rules: CollectionRules,
) -> AddedInteraction:
    """Screen the free text (card numbers and security codes never kept in clear), seal what is
    kept, store the interaction."""
    new = _checked_times(rules, new, "body", utcnow())
    subject = _live_subject(session, keys, organization_id, subject_id, rules)
    _check_parts(rules, new, "body", subject.type)
    return _store_interaction(session, keys, subject, new, actor, rules, audit=True)


@dataclass(frozen=True)
class Prepared:
    """An interaction checked, screened and sealed by `prepare_interaction`, not yet written:
    `row` is what `insert(Interaction)` takes."""

    row: dict[str, Any]
    findings: dict[str, int]
    original_kept: bool


def prepare_interaction(
    keys: KeyStore,
    subject: Subject,
    new: NewInteraction,
    rules: CollectionRules,
    data_key: Callable[[Subject], bytes],
    now: dt.datetime,
    live: set[int] | None = None,
    screen: Callable[[str], Screened] | None = None,
) -> Prepared | None:
    """What `add_interaction` does before its write, without a query: the same checks in the
    same order (times, a live subject, the gate on each part), the screening and the sealing;
    the subject's last activity is touched. None when the screened text holds something the
    write must act on (a request said, a birth date): store that one with `add_interaction`.
    Raises what `add_interaction` raises (`CollectionRefused`, `SubjectNotFound`).

    `live`: ids of subjects already found live in the caller's transaction (bulk ingest checks
    a subject once per batch, not once per line: the check opens their sealed birth date); a
    subject that passes is added. The caller drops an id when something may have changed it.
    `screen`: the text's screening when the caller has it already (bulk ingest screens in
    other processes); `screen_for_storage` otherwise."""
    new = _checked_times(rules, new, "body", now)
    if live is None or subject.id not in live:
        check_live(keys, subject, rules)
        if live is not None:
            live.add(subject.id)
    _check_parts(rules, new, "body", subject.type)
    screened = (screen or screen_for_storage)(new.text) if new.text is not None else None
    if screened is not None and (screened.birth_dates or screened.intents):
        return None
    row = _interaction_row(subject, data_key(subject), new, screened, rules)
    _touch(subject, new.ended_at or new.started_at)
    return Prepared(row, dict(row["findings"]), row["original_sealed"] is not None)


def _checked_times(
    rules: CollectionRules, new: NewInteraction, prefix: str, now: dt.datetime
) -> NewInteraction:
    started = check_time(rules, new.started_at, f"{prefix}.started_at", now)
    ended = (
        check_time(rules, new.ended_at, f"{prefix}.ended_at", now)
        if new.ended_at is not None
        else None
    )
    if started == new.started_at and ended == new.ended_at:
        return new
    return replace(new, started_at=started, ended_at=ended)


def _check_parts(
    rules: CollectionRules, new: NewInteraction, prefix: str, subject_type: str | None
) -> None:
    """Every part of an interaction passes the same gate: its text, its recording."""
    if new.text is not None:
        check_text(rules, new.channel.value, f"{prefix}.text", subject_type)
    if new.recording_uri is not None or new.recording_sha256 is not None:
        check_recording(rules, f"{prefix}.recording", subject_type)


def _interaction_row(
    subject: Subject,
    dek: bytes,
    new: NewInteraction,
    screened: Screened | None,
    rules: CollectionRules,
) -> dict[str, Any]:
    """The column values of one interaction: screened text sealed under the subject's key.
    `screened` was made with keep_original=True; the declaration decides here whether the
    original is kept."""
    org, key_id = subject.organization_id, subject.key_id
    body = original = None
    findings: dict[str, int] = {}
    if screened is not None:
        findings = screened.counts
        body = seal_text(dek, org, key_id, "interaction:body", screened.redacted)
        if screened.original is not None and rules.may_keep_original(
            new.channel.value, screened.counts
        ):
            original = seal_text(dek, org, key_id, "interaction:original", screened.original)
    return {
        "organization_id": org,
        "subject_id": subject.id,
        "channel": new.channel.value,
        "direction": new.direction.value,
        "started_at": new.started_at,
        "ended_at": new.ended_at,
        "agent": new.agent,
        "body_sealed": body,
        "original_sealed": original,
        "recording_uri_sealed": (
            seal_text(dek, org, key_id, "interaction:recording_uri", new.recording_uri)
            if new.recording_uri
            else None
        ),
        "recording_sha256": new.recording_sha256.lower() if new.recording_sha256 else None,
        "tags": list(new.tags),
        "findings": findings,
        "policy_version_id": rules.policy_version_id,
        "created_at": utcnow(),
    }


def screen_for_storage(text: str) -> Screened:
    """Screen with the original kept aside; `_interaction_row` decides whether it is stored.
    A plain module function so a process pool can run it."""
    return screen(text, keep_original=True)


def _store_interaction(
    session: Session,
    keys: KeyStore,
    subject: Subject,
    new: NewInteraction,
    actor: Actor,
    rules: CollectionRules,
    audit: bool,
) -> AddedInteraction:
    screened = screen_for_storage(new.text) if new.text is not None else None
    if screened is not None and screened.birth_dates:
        learn_birth_dates(keys, subject, screened.birth_dates, rules, "body.text")
    dek = keys.data_key(subject.organization_id, subject.key_id)
    interaction = Interaction(**_interaction_row(subject, dek, new, screened, rules))
    findings = dict(interaction.findings)
    original_kept = interaction.original_sealed is not None
    session.add(interaction)
    _touch(subject, new.ended_at or new.started_at)
    if audit:
        session.flush()
        append(
            session,
            subject.organization_id,
            actor,
            "interaction.added",
            "interaction",
            interaction.id,
            {
                "subject_id": subject.id,
                "channel": new.channel.value,
                "findings": findings,
                "original_kept": original_kept,
            },
        )
    intents = tuple((s.entity, s.start, s.end) for s in screened.intents) if screened else ()
    return AddedInteraction(interaction, findings, original_kept, intents)


@dataclass(frozen=True)
class Ingested:
    ids: list[int]
    findings: dict[str, int]
    originals_kept: int


def ingest_interactions(
    db: Database,
    keys: KeyStore,
    organization_id: int,
    items: Sequence[tuple[int, NewInteraction]],
    actor: Actor,
    executor: Executor | None = None,
    chunksize: int = 16,
    *,
    laws: JurisdictionRules,
) -> Ingested:
    """Bulk ingest (imports, back-fills): the same rules, screening and sealing as
    `add_interaction`, but the screening runs before the write transaction opens (in
    `executor`'s processes when one is given), so the database is locked only while rows are
    sealed and inserted. All or nothing: one transaction, one audit entry.
    """
    with db.session() as session:
        rules = current_rules(session, organization_id, laws)
    if rules is None:
        raise no_policy()
    now = utcnow()
    items = [
        (subject_id, _checked_times(rules, new, f"items[{index}]", now))
        for index, (subject_id, new) in enumerate(items)
    ]
    for index, (_, new) in enumerate(items):
        _check_parts(rules, new, f"items[{index}]", None)
    texts = [new.text for _, new in items if new.text is not None]
    if executor is not None:
        screened = list(executor.map(screen_for_storage, texts, chunksize=chunksize))
    else:
        screened = [screen_for_storage(text) for text in texts]
    results = iter(screened)
    with db.session() as session:
        subjects: dict[int, tuple[Subject, bytes]] = {}
        rows = []
        totals: Counter[str] = Counter()
        for index, (subject_id, new) in enumerate(items):
            if subject_id not in subjects:
                found = _live_subject(session, keys, organization_id, subject_id, rules)
                subjects[subject_id] = (found, keys.data_key(organization_id, found.key_id))
            subject, dek = subjects[subject_id]
            _check_parts(rules, new, f"items[{index}]", subject.type)
            screened_text = next(results) if new.text is not None else None
            if screened_text is not None and screened_text.birth_dates:
                learn_birth_dates(
                    keys, subject, screened_text.birth_dates, rules, f"items[{index}].text"
                )
            row = _interaction_row(subject, dek, new, screened_text, rules)
            totals.update(row["findings"])
            rows.append(row)
            _touch(subject, new.ended_at or new.started_at)
        if not rows:
            return Ingested([], {}, 0)
        ids = list(
            session.execute(
                insert(Interaction).returning(Interaction.id, sort_by_parameter_order=True),
                rows,
            ).scalars()
        )
        kept = sum(1 for row in rows if row["original_sealed"] is not None)
        append(
            session,
            organization_id,
            actor,
            "interactions.ingested",
            "interaction",
            ids[0],
            {
                "count": len(ids),
                "first_id": ids[0],
                "last_id": ids[-1],
                "subjects": len(subjects),
                "findings": dict(totals),
                "originals_kept": kept,
            },
        )
    return Ingested(ids, dict(totals), kept)
