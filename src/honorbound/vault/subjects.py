"""Subjects and their identities: upsert by identities, find by one, merge two.

Every function takes the data-database session of the caller's unit of work and the key store;
state changes append an audit entry in that same session (ids and counts, never values).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError
from honorbound.vault.identities import IdentityKind, InvalidIdentity, blind_index, normalize
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import (
    Identity,
    Interaction,
    Record,
    Subject,
    SubjectStatus,
)
from honorbound.vault.rules import (
    CollectionRefused,
    CollectionRules,
    age_on,
    check_subject_type,
    is_below_minimum_age,
)
from honorbound.vault.sealing import open_text, seal_text


class InvalidIdentityAt(HonorboundError, ValueError):
    """Identity number `index` of the request is malformed (message never quotes it)."""

    status = 422
    title = "Invalid request"

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message
        self.field = f"body.identities[{index}].value"

    def detail(self) -> str:
        return f"{self.field} {self.message}."

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": self.message}]


class SubjectConflict(HonorboundError):
    """The identities given belong to more than one subject; they may be merged."""

    status = 409
    title = "Identities belong to different subjects"

    def __init__(self, subject_ids: list[int]) -> None:
        super().__init__("the identities belong to different subjects")
        self.subject_ids = subject_ids

    def detail(self) -> str:
        return (
            "The identities given belong to more than one subject; merge them first "
            "(POST /v1/subjects/merge)."
        )

    def extra(self) -> dict[str, Any]:
        return {"subject_ids": self.subject_ids}


class SubjectNotFound(HonorboundError, LookupError):
    """No such subject in the organization, or it has been erased; the message says which."""

    status = 404
    title = "Not found"

    def detail(self) -> str:
        text = str(self)
        return text[:1].upper() + text[1:] + "."


class BelowMinimumAge(CollectionRefused):
    """The subject is younger than the declaration allows. `subject_id` is set when the vault
    already holds data about them (their erasure must then be scheduled)."""

    def __init__(self, minimum_age: int, field: str, subject_id: int | None) -> None:
        super().__init__(
            "minimum_age",
            field,
            f"the subject is younger than the minimum age of {minimum_age} in the organization's "
            "privacy notice; nothing was stored"
            + ("; data already held about them is scheduled for erasure" if subject_id else ""),
        )
        self.subject_id = subject_id


@dataclass(frozen=True)
class IdentityInput:
    kind: IdentityKind
    value: str


@dataclass(frozen=True)
class Upserted:
    subject: Subject
    created: bool
    identity_ids: list[int]


def normalized_identities(
    identities: Sequence[IdentityInput], default_region: str = "US"
) -> list[tuple[IdentityKind, str]]:
    out = []
    for index, item in enumerate(identities):
        try:
            out.append((item.kind, normalize(item.kind, item.value, default_region)))
        except InvalidIdentity as exc:
            raise InvalidIdentityAt(index, str(exc)) from None
    return out


def get_subject(session: Session, organization_id: int, subject_id: int) -> Subject:
    subject = session.scalar(
        select(Subject).where(Subject.id == subject_id, Subject.organization_id == organization_id)
    )
    if subject is None:
        raise SubjectNotFound("no subject with that id in your organization")
    return subject


def find_subject_id(
    session: Session, keys: KeyStore, organization_id: int, kind: IdentityKind | str, value: str
) -> int | None:
    """Subject id holding this identity, through the blind index; None when unknown.
    Raises `InvalidIdentity` for a malformed value."""
    normalized = normalize(kind, value)
    digest = blind_index(keys.blind_index_key(organization_id), kind, normalized)
    return session.scalar(
        select(Identity.subject_id).where(
            Identity.organization_id == organization_id, Identity.blind_index == digest
        )
    )


def subject_age(keys: KeyStore, subject: Subject, today: dt.date | None = None) -> int | None:
    today = today or utcnow().date()
    dek = keys.data_key(subject.organization_id, subject.key_id)
    if subject.birth_date_sealed is not None:
        born = dt.date.fromisoformat(
            open_text(
                dek,
                subject.organization_id,
                subject.key_id,
                "birth_date",
                subject.birth_date_sealed,
            )
        )
        return age_on(born, today)
    if subject.age_sealed is not None:
        text = open_text(dek, subject.organization_id, subject.key_id, "age", subject.age_sealed)
        age, _, recorded = text.partition("@")
        return int(age) + max(0, age_on(dt.date.fromisoformat(recorded), today))
    return None


def learn_birth_dates(
    keys: KeyStore,
    subject: Subject,
    birth_dates: Sequence[dt.date],
    rules: CollectionRules,
    field: str,
    today: dt.date | None = None,
) -> None:
    """A birth date reached the vault (a date-of-birth record, one found in a transcript): it
    counts like one sent with the subject. Below the notice's minimum age, `BelowMinimumAge`
    (the subject's erasure is then scheduled by the caller); otherwise, when it makes the
    subject younger than the vault knew, it becomes their birth date, which the contact
    decisions' `minor` reason reads (`subject_age`)."""
    today = today or utcnow().date()
    plausible = [d for d in birth_dates if d <= today]
    if not plausible:
        return
    youngest = max(plausible)
    age = age_on(youngest, today)
    if is_below_minimum_age(rules, age):
        raise BelowMinimumAge(rules.minimum_age or 0, field, subject.id)
    known = subject_age(keys, subject, today)
    if known is None or age < known:
        dek = keys.data_key(subject.organization_id, subject.key_id)
        subject.birth_date_sealed = seal_text(
            dek, subject.organization_id, subject.key_id, "birth_date", youngest.isoformat()
        )


def upsert_subject(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    identities: Sequence[IdentityInput],
    actor: Actor,
    rules: CollectionRules,
    subject_type: str = "customer",
    jurisdiction: str | None = None,
    birth_date: dt.date | None = None,
    age: int | None = None,
) -> Upserted:
    """Find the subject holding any of `identities`, or create one; add the identities it lacks.

    Raises `InvalidIdentityAt`, `SubjectConflict` (identities of two subjects: merge first),
    `CollectionRefused` (undeclared subject type) and `BelowMinimumAge`.
    """
    normalized = normalized_identities(identities)
    check_subject_type(rules, subject_type, "body.type")
    index_key = keys.blind_index_key(organization_id)
    digests = [blind_index(index_key, kind, value) for kind, value in normalized]
    existing = session.execute(
        select(Identity.blind_index, Identity.subject_id).where(
            Identity.organization_id == organization_id, Identity.blind_index.in_(digests)
        )
    ).all()
    owners = sorted({subject_id for _, subject_id in existing})
    if len(owners) > 1:
        raise SubjectConflict(owners)
    today = utcnow().date()
    given_age = age_on(birth_date, today) if birth_date is not None else age
    below = is_below_minimum_age(rules, given_age)
    if below and not owners:
        raise BelowMinimumAge(rules.minimum_age or 0, _age_field(birth_date), None)
    if owners:
        subject = get_subject(session, organization_id, owners[0])
        if below:
            raise BelowMinimumAge(rules.minimum_age or 0, _age_field(birth_date), subject.id)
        created = False
        dek = keys.data_key(organization_id, subject.key_id)
    else:
        key_id = uuid.uuid4().hex
        subject = Subject(
            organization_id=organization_id,
            key_id=key_id,
            type=subject_type,
            status=SubjectStatus.ACTIVE.value,
        )
        dek = keys.create_data_key(organization_id, key_id)
        created = True
    if jurisdiction is not None:
        subject.jurisdiction = jurisdiction
    if birth_date is not None:
        subject.birth_date_sealed = seal_text(
            dek, organization_id, subject.key_id, "birth_date", birth_date.isoformat()
        )
    elif age is not None:
        subject.age_sealed = seal_text(
            dek, organization_id, subject.key_id, "age", f"{age}@{today.isoformat()}"
        )
    subject.type = subject_type if created else subject.type
    subject.last_activity_at = utcnow()
    if subject.status == SubjectStatus.DORMANT.value:
        subject.status = SubjectStatus.ACTIVE.value
    session.add(subject)
    session.flush()
    known = {digest for digest, _ in existing}
    added: list[Identity] = []
    for (kind, value), digest in zip(normalized, digests, strict=True):
        if digest in known:
            continue
        known.add(digest)
        identity = Identity(
            organization_id=organization_id,
            subject_id=subject.id,
            kind=kind.value,
            blind_index=digest,
            value_sealed=seal_text(dek, organization_id, subject.key_id, f"identity:{kind}", value),
        )
        session.add(identity)
        added.append(identity)
    session.flush()
    ids = session.scalars(
        select(Identity.id)
        .where(Identity.organization_id == organization_id, Identity.blind_index.in_(digests))
        .order_by(Identity.id)
    ).all()
    if created or added:
        append(
            session,
            organization_id,
            actor,
            "subject.created" if created else "subject.identities_added",
            "subject",
            subject.id,
            {"identities_added": len(added), "kinds": sorted({i.kind for i in added})},
        )
    return Upserted(subject, created, list(ids))


def _age_field(birth_date: dt.date | None) -> str:
    return "body.birth_date" if birth_date is not None else "body.age"


def merge_subjects(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    into_id: int,
    from_id: int,
    actor: Actor,
) -> Subject:
    """Move everything of subject `from_id` to `into_id` (re-sealed under the survivor's key),
    then delete `from_id` and shred its key."""
    if into_id == from_id:
        raise ValueError("a subject cannot be merged into itself")
    into = get_subject(session, organization_id, into_id)
    source = get_subject(session, organization_id, from_id)
    for subject in (into, source):
        if subject.status == SubjectStatus.ERASED.value:
            raise SubjectNotFound("an erased subject cannot be merged")
    old = keys.data_key(organization_id, source.key_id)
    new = keys.data_key(organization_id, into.key_id)

    def move(field: str, sealed: bytes | None) -> bytes | None:
        if sealed is None:
            return None
        text = open_text(old, organization_id, source.key_id, field, sealed)
        return seal_text(new, organization_id, into.key_id, field, text)

    counts = {"identities": 0, "records": 0, "interactions": 0}
    for identity in session.scalars(select(Identity).where(Identity.subject_id == source.id)):
        identity.value_sealed = move(f"identity:{identity.kind}", identity.value_sealed) or b""
        identity.subject_id = into.id
        counts["identities"] += 1
    for record in session.scalars(select(Record).where(Record.subject_id == source.id)):
        record.value_sealed = move(f"record:{record.category}", record.value_sealed) or b""
        record.consent_sealed = move("consent", record.consent_sealed)
        record.subject_id = into.id
        counts["records"] += 1
    for item in session.scalars(select(Interaction).where(Interaction.subject_id == source.id)):
        item.body_sealed = move("interaction:body", item.body_sealed)
        item.original_sealed = move("interaction:original", item.original_sealed)
        item.recording_uri_sealed = move("interaction:recording_uri", item.recording_uri_sealed)
        item.subject_id = into.id
        counts["interactions"] += 1
    if into.birth_date_sealed is None and source.birth_date_sealed is not None:
        into.birth_date_sealed = move("birth_date", source.birth_date_sealed)
    if into.age_sealed is None and source.age_sealed is not None:
        into.age_sealed = move("age", source.age_sealed)
    into.jurisdiction = into.jurisdiction or source.jurisdiction
    into.last_activity_at = max(into.last_activity_at, source.last_activity_at)
    # One person now: their account is closed (engagement ended) only if it was on both
    # sides, and then at the later time; an open side keeps it open, so retention's
    # after-closure clock does not start for data of a person who is still a customer.
    for field in LIFECYCLE_FIELDS:
        mine, theirs = getattr(into, field), getattr(source, field)
        setattr(into, field, max(mine, theirs) if mine is not None and theirs is not None else None)
    session.flush()
    session.delete(source)
    session.flush()
    keys.destroy_data_keys(organization_id, [source.key_id], journal=False)
    append(
        session,
        organization_id,
        actor,
        "subject.merged",
        "subject",
        into.id,
        {"merged_subject_id": from_id, **counts},
    )
    return into


def mark_dormant(
    session: Session, organization_id: int, inactive_since: dt.datetime, actor: Actor
) -> int:
    """Active subjects with no activity since `inactive_since` become dormant."""
    result = session.execute(
        update(Subject)
        .where(
            Subject.organization_id == organization_id,
            Subject.status == SubjectStatus.ACTIVE.value,
            Subject.last_activity_at < inactive_since,
        )
        .values(status=SubjectStatus.DORMANT.value)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        append(
            session,
            organization_id,
            actor,
            "subjects.marked_dormant",
            "subject",
            "",
            {"count": count},
        )
    return count


LIFECYCLE_FIELDS = ("account_closed_at", "engagement_ended_at")


class InvalidLifecycleDate(HonorboundError, ValueError):
    """A lifecycle date that cannot be right; `field` names it (the message quotes no value)."""

    status = 422
    title = "Invalid request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def _path(self) -> str:
        # The request body's field (lifecycle dates arrive as a JSON body).
        return "body" if self.field == "body" else f"body.{self.field}"

    def detail(self) -> str:
        return f"{self._path()} {self.message}."

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self._path(), "message": self.message}]


def record_lifecycle(
    session: Session,
    organization_id: int,
    subject_id: int,
    changes: dict[str, dt.datetime | None],
    actor: Actor,
    now: dt.datetime | None = None,
) -> Subject:
    """Record when the subject's account was closed and/or their engagement ended.

    `changes` maps `account_closed_at` / `engagement_ended_at` to a timezone-aware time, or to
    None to clear it (an account reopened); fields not given are left as they are. Retention
    rules with the `after_account_closure` / `after_engagement_end` trigger run from these
    dates. A date in the future, before the subject was created, or without a time zone is
    refused (`InvalidLifecycleDate`) and nothing is written. Erased subjects are not found.
    """
    if not changes:
        raise InvalidLifecycleDate(
            "body", "give account_closed_at and/or engagement_ended_at (null clears one)"
        )
    unknown = sorted(set(changes) - set(LIFECYCLE_FIELDS))
    if unknown:
        raise InvalidLifecycleDate(unknown[0], "is not a lifecycle date")
    subject = get_subject(session, organization_id, subject_id)
    if subject.status == SubjectStatus.ERASED.value:
        raise SubjectNotFound("the subject has been erased")
    now = now or utcnow()
    for field in LIFECYCLE_FIELDS:
        if field not in changes or changes[field] is None:
            continue
        when = changes[field]
        assert when is not None
        if when.tzinfo is None or when.utcoffset() is None:
            raise InvalidLifecycleDate(field, "must include a time zone (e.g. Z or +00:00)")
        if when > now:
            raise InvalidLifecycleDate(field, "must not be in the future")
        if when < subject.created_at:
            raise InvalidLifecycleDate(
                field, "must not be before the subject was created in the vault"
            )
    set_fields: list[str] = []
    cleared: list[str] = []
    for field in LIFECYCLE_FIELDS:
        if field not in changes:
            continue
        value = changes[field]
        setattr(subject, field, value.astimezone(dt.UTC) if value is not None else None)
        (set_fields if value is not None else cleared).append(field)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "subject.lifecycle_recorded",
        "subject",
        subject.id,
        {"set": set_fields, "cleared": cleared},
    )
    return subject
