"""The collection API: subjects, their records and interactions, masked reads and reveals.

Thin on purpose: each route parses, calls one `honorbound.vault` function and renders. Writes
accept an `Idempotency-Key` header; a retry with the same key and body gets the first answer
and writes nothing. Identities travel in bodies only (lookup is a POST), never in URLs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from honorbound.accounts.service import Principal
from honorbound.api.deps import PrincipalDep, RowId, RuntimeDep, SessionDep, require
from honorbound.api.gpc import GpcDep, GpcSignal
from honorbound.api.problems import Problem
from honorbound.audit import Actor
from honorbound.collection import bulk
from honorbound.consent.models import Source as ConsentSource
from honorbound.errors import HonorboundError
from honorbound.intents.acting import act_on_interaction
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.rights.jobs import services as rights_services
from honorbound.runtime import Runtime
from honorbound.vault import erasure, idempotency
from honorbound.vault.bodies import InteractionIn
from honorbound.vault.collection import Consent, add_interaction, add_record
from honorbound.vault.identities import IdentityKind, normalize
from honorbound.vault.models import Subject
from honorbound.vault.reading import (
    SubjectView,
    access_log,
    reveal,
    subject_view,
)
from honorbound.vault.rules import (
    CollectionRules,
    current_rules,
    no_policy,
)
from honorbound.vault.subjects import (
    BelowMinimumAge,
    IdentityInput,
    find_subject_id,
    get_subject,
    merge_subjects,
    record_lifecycle,
    upsert_subject,
)

router = APIRouter(prefix="/v1/subjects", tags=["vault"])
Collector = Annotated[Principal, Depends(require("data.collect"))]
Reader = Annotated[Principal, Depends(require("data.read_masked"))]
Revealer = Annotated[Principal, Depends(require("data.reveal"))]
Merger = Annotated[Principal, Depends(require("data.merge"))]
Auditor = Annotated[Principal, Depends(require("audit.read"))]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Makes a write safe to retry: same key and body, same answer, one write.",
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityIn(_In):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class SubjectIn(_In):
    identities: list[IdentityIn] = Field(min_length=1, max_length=20)
    type: str = Field(
        min_length=1, max_length=100, description="A subject type id of the declaration."
    )
    jurisdiction: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="US state, two capital letters."
    )
    birth_date: dt.date | None = None
    age: int | None = Field(default=None, ge=0, le=150)


class SubjectOut(BaseModel):
    id: int
    created: bool
    status: str
    identity_ids: list[int]
    gpc: str | None = Field(
        default=None,
        description="With `Sec-GPC: 1` on the call: what the person's page must show when the "
        'signal is honored for them ("Opt-out request honored"); null otherwise.',
    )


# Evidence is a small record of how consent was given (form id, text shown, hashes): nesting
# past a few levels is never evidence, and very deep values break serializers (a 500).
EVIDENCE_DEPTH = 8
EVIDENCE_VALUES = 1000


def _bounded(value: Any, depth: int = 0, seen: list[int] | None = None) -> None:
    seen = seen if seen is not None else [0]
    seen[0] += 1
    if depth > EVIDENCE_DEPTH:
        raise ValueError(f"is nested deeper than {EVIDENCE_DEPTH} levels")
    if seen[0] > EVIDENCE_VALUES:
        raise ValueError(f"has more than {EVIDENCE_VALUES} values")
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _bounded(child, depth + 1, seen)


def _bounded_evidence(value: dict[str, Any]) -> dict[str, Any]:
    _bounded(value)
    return value


class ConsentIn(_In):
    """The caller's claim of consent. The vault reads consent from the consent ledger; with
    nothing on file there, this claim is recorded in the ledger as an opt-in event with its
    `source`. It never outranks an opt-out on file."""

    opt_in: bool
    evidence: Annotated[dict[str, Any], AfterValidator(_bounded_evidence)] = Field(
        default_factory=dict
    )
    source: ConsentSource = Field(
        default=ConsentSource.CONTROLLER_API,
        description="How the person gave it (consent ledger source: agent_verbal, ivr_keypad, "
        "web_form, ...); default controller_api (your system says so).",
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the person gave it (default: now)."
    )


class RecordIn(_In):
    category: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1, max_length=100_000)
    purposes: list[str] = Field(min_length=1, max_length=50)
    source: str = Field(min_length=1, max_length=200)
    consent: ConsentIn | None = None
    collected_at: AwareDatetime | None = None


class RecordOut(BaseModel):
    id: int
    subject_id: int
    category: str
    purposes: list[str]
    policy_version_id: int | None
    gpc: str | None = Field(
        default=None,
        description="With `Sec-GPC: 1` on the call: what the person's page must show when the "
        'signal is honored for them ("Opt-out request honored"); null otherwise.',
    )


class ActedIntentOut(BaseModel):
    id: int
    kind: str
    status: str
    review_reason: str | None


class InteractionOut(BaseModel):
    id: int
    subject_id: int
    findings: dict[str, int]
    original_kept: bool
    gpc: str | None = Field(
        default=None,
        description="With `Sec-GPC: 1` on the call: what the person's page must show when the "
        'signal is honored for them ("Opt-out request honored"); null otherwise.',
    )
    intents: list[ActedIntentOut] = Field(
        default_factory=list,
        description="Requests the customer said (opt-outs, rights requests): applied, or "
        "queued for staff (GET /v1/conversation-intents).",
    )


class LookupIn(_In):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)

    @field_validator("value")
    @classmethod
    def _an_identity_of_that_kind(cls, value: str, info: ValidationInfo) -> str:
        # A malformed value is a 422 naming body.value, as any other invalid field.
        kind = info.data.get("kind")
        if kind is not None:
            normalize(kind, value)  # raises InvalidIdentity (a ValueError), never quoting it
        return value


class LookupOut(BaseModel):
    subject_id: int


class RevealIn(_In):
    object_type: Literal[
        "identity", "record", "interaction", "interaction_original", "recording_uri"
    ]
    object_id: int = Field(ge=1, le=2_147_483_647)
    reason: str = Field(min_length=3, max_length=500)


class RevealOut(BaseModel):
    object_type: str
    object_id: int
    value: str


class MergeIn(_In):
    into_subject_id: int = Field(ge=1, le=2_147_483_647)
    from_subject_id: int = Field(ge=1, le=2_147_483_647)


class MergeOut(BaseModel):
    subject_id: int
    merged_subject_id: int


class LifecycleIn(_In):
    account_closed_at: AwareDatetime | None = Field(
        default=None,
        description="When the subject's account was closed (null clears it). Retention rules "
        "with the `after_account_closure` trigger run from this date.",
    )
    engagement_ended_at: AwareDatetime | None = Field(
        default=None,
        description="When the engagement ended (null clears it). Retention rules with the "
        "`after_engagement_end` trigger run from this date.",
    )


class LifecycleOut(BaseModel):
    subject_id: int
    account_closed_at: dt.datetime | None
    engagement_ended_at: dt.datetime | None


class AccessLogOut(BaseModel):
    id: int
    object_type: str
    object_id: int
    actor: str
    role: str
    reason: str
    at: dt.datetime


def owned_subject(subject_id: RowId, principal: PrincipalDep, session: SessionDep) -> Subject:
    """The subject, if it belongs to the caller's organization; 404 otherwise. Runs before the
    role check and body validation, so another organization's id is always just not found."""
    return get_subject(session, principal.organization_id, subject_id)  # or SubjectNotFound


OwnedSubject = Annotated[Subject, Depends(owned_subject)]


def _actor(principal: Principal) -> Actor:
    return principal.actor


def _rules(session: Session, organization_id: int, laws: JurisdictionRules) -> CollectionRules:
    rules = current_rules(session, organization_id, laws)
    if rules is None:
        raise no_policy()
    return rules


def _honor(signal: GpcSignal, session: Session, runtime: Runtime, subject: Subject) -> str | None:
    """`Sec-GPC: 1` on a collection call: recorded for every identity of the subject (and the
    browser's cookie id among them) as the law of the subject's state requires."""
    return signal.honor_subject(
        session,
        runtime.keys,
        runtime.vault_keys,
        subject.organization_id,
        subject.id,
        subject.jurisdiction,
    ).display


@contextmanager
def _domain_errors(session: Session, runtime: Runtime, principal: Principal) -> Iterator[None]:
    """A refused minor's existing data is scheduled for erasure in its own committed unit of
    work (the refused write itself is rolled back); the refusal then goes on to the handler."""
    try:
        yield
    except BelowMinimumAge as exc:
        if exc.subject_id is not None:
            session.rollback()
            erasure.schedule_erasure(
                session,
                runtime.jobs,
                principal.organization_id,
                exc.subject_id,
                _actor(principal),
                "minimum_age",
            )
            session.commit()
        raise
    # Every other domain error (CollectionRefused, InvalidIdentityAt, SubjectConflict,
    # SubjectNotFound, KeyDestroyed, IdempotencyMismatch) carries its own problem document
    # and goes on to the one handler.


def _idempotent(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    key: str | None,
    operation: str,
    body: BaseModel,
    write: Callable[[], tuple[int, BaseModel]],
) -> JSONResponse:
    """Run `write` once per Idempotency-Key; a retry gets the stored status and body."""
    org = principal.organization_id
    digest = idempotency.fingerprint(
        runtime.vault_keys, org, operation, body.model_dump_json().encode()
    )
    if key is not None:
        with _domain_errors(session, runtime, principal):
            earlier = idempotency.replay(session, org, key, operation, digest)
        if earlier is not None:
            return JSONResponse(
                earlier.response,
                status_code=earlier.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
    with _domain_errors(session, runtime, principal):
        status, result = write()
    payload = result.model_dump(mode="json")
    if key is not None:
        try:
            idempotency.remember(session, org, key, operation, digest, status, payload)
        except IntegrityError:
            raise Problem(
                409,
                "Concurrent retry",
                "Another request with this Idempotency-Key is being processed; retry shortly.",
            ) from None
    return JSONResponse(payload, status_code=status)


@router.post("", status_code=201, response_model=SubjectOut)
def upsert(
    body: SubjectIn,
    principal: Collector,
    session: SessionDep,
    runtime: RuntimeDep,
    signal: GpcDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Find the subject holding any of the identities, or create one (201 when created)."""

    def write() -> tuple[int, SubjectOut]:
        up = upsert_subject(
            session,
            runtime.vault_keys,
            principal.organization_id,
            [IdentityInput(i.kind, i.value) for i in body.identities],
            _actor(principal),
            _rules(session, principal.organization_id, runtime.rules),
            subject_type=body.type,
            jurisdiction=body.jurisdiction,
            birth_date=body.birth_date,
            age=body.age,
        )
        out = SubjectOut(
            id=up.subject.id,
            created=up.created,
            status=up.subject.status,
            identity_ids=up.identity_ids,
            gpc=_honor(signal, session, runtime, up.subject),
        )
        return (201 if up.created else 200), out

    return _idempotent(session, runtime, principal, idempotency_key, "subjects.upsert", body, write)


@router.post("/lookup", response_model=LookupOut)
def lookup(
    body: LookupIn, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> LookupOut:
    """Find a subject by one identity (through the blind index). 404 when unknown."""
    found = find_subject_id(
        session, runtime.vault_keys, principal.organization_id, body.kind, body.value
    )
    if found is None:
        raise Problem(404, "Not found", "No subject holds that identity in your organization.")
    return LookupOut(subject_id=found)


@router.post("/merge", response_model=MergeOut)
def merge(body: MergeIn, principal: Merger, session: SessionDep, runtime: RuntimeDep) -> MergeOut:
    """Move everything of `from_subject_id` into `into_subject_id`; the former is deleted and
    its key shredded. Audited."""
    if body.into_subject_id == body.from_subject_id:
        raise Problem(
            422,
            "Invalid request",
            "body.from_subject_id must differ from into_subject_id.",
            errors=[{"field": "body.from_subject_id", "message": "must differ from into"}],
        )
    with _domain_errors(session, runtime, principal):
        into = merge_subjects(
            session,
            runtime.vault_keys,
            principal.organization_id,
            body.into_subject_id,
            body.from_subject_id,
            _actor(principal),
        )
    return MergeOut(subject_id=into.id, merged_subject_id=body.from_subject_id)


@router.get("/{subject_id}", response_model=SubjectView)
def read(
    subject: OwnedSubject, principal: Reader, session: SessionDep, runtime: RuntimeDep
) -> SubjectView:
    """The subject with masked identities and records and screened interaction bodies."""
    with _domain_errors(session, runtime, principal):
        return subject_view(session, runtime.vault_keys, principal.organization_id, subject.id)


@router.post("/{subject_id}/records", status_code=201, response_model=RecordOut)
def create_record(
    subject: OwnedSubject,
    body: RecordIn,
    principal: Collector,
    session: SessionDep,
    runtime: RuntimeDep,
    signal: GpcDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Store one value of a declared category, for declared purposes (422 names the rule)."""

    def write() -> tuple[int, RecordOut]:
        record = add_record(
            session,
            runtime.vault_keys,
            principal.organization_id,
            subject.id,
            body.category,
            body.value,
            body.purposes,
            body.source,
            _actor(principal),
            _rules(session, principal.organization_id, runtime.rules),
            consent=(
                Consent(
                    body.consent.opt_in,
                    body.consent.evidence,
                    body.consent.source.value,
                    body.consent.occurred_at,
                )
                if body.consent
                else None
            ),
            collected_at=body.collected_at,
        )
        return 201, RecordOut(
            id=record.id,
            subject_id=subject.id,
            category=record.category,
            purposes=list(record.purposes),
            policy_version_id=record.policy_version_id,
            gpc=_honor(signal, session, runtime, subject),
        )

    return _idempotent(
        session,
        runtime,
        principal,
        idempotency_key,
        f"subjects.{subject.id}.records",
        body,
        write,
    )


def check_interaction(body: InteractionIn) -> None:
    bulk.check_interaction(body)  # a LineRefused is its own problem document


def store_interaction(
    session: Session, runtime: Runtime, principal: Principal, subject: Subject, body: InteractionIn
) -> InteractionOut:
    """The collection gate, the write of one interaction and the acts on what the customer
    said (bulk ingest does the same in `collection.bulk`)."""
    added = add_interaction(
        session,
        runtime.vault_keys,
        principal.organization_id,
        subject.id,
        body.new_interaction(),
        _actor(principal),
        _rules(session, principal.organization_id, runtime.rules),
    )
    acted = act_on_interaction(
        session,
        rights_services(runtime),
        subject,
        added.interaction,
        body.text or "",
        added.intents,
        _actor(principal),
    )
    return InteractionOut(
        id=added.interaction.id,
        subject_id=subject.id,
        findings=added.findings,
        original_kept=added.original_kept,
        intents=[ActedIntentOut(**intent) for intent in bulk.intents_out(acted)],
    )


@router.post("/{subject_id}/interactions", status_code=201, response_model=InteractionOut)
def create_interaction(
    subject: OwnedSubject,
    body: InteractionIn,
    principal: Collector,
    session: SessionDep,
    runtime: RuntimeDep,
    signal: GpcDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Store a call, chat, email, SMS or form; free text is screened (card numbers and security
    codes never stored in clear) and sealed."""
    check_interaction(body)

    def write() -> tuple[int, InteractionOut]:
        out = store_interaction(session, runtime, principal, subject, body)
        out.gpc = _honor(signal, session, runtime, subject)
        return 201, out

    return _idempotent(
        session,
        runtime,
        principal,
        idempotency_key,
        f"subjects.{subject.id}.interactions",
        body,
        write,
    )


@router.post("/{subject_id}/reveal", response_model=RevealOut)
def reveal_value(
    subject: OwnedSubject,
    body: RevealIn,
    principal: Revealer,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RevealOut:
    """One value in clear, for a privacy officer with a reason; writes an access-log entry."""
    with _domain_errors(session, runtime, principal):
        try:
            value = reveal(
                session,
                runtime.vault_keys,
                principal.organization_id,
                subject.id,
                body.object_type,
                body.object_id,
                _actor(principal),
                body.reason,
            )
        except HonorboundError:
            raise  # NothingToReveal and the rest: the one handler answers
        except ValueError as exc:
            raise Problem(
                422,
                "Invalid request",
                str(exc),
                errors=[{"field": "body.reason", "message": str(exc)}],
            ) from None
    return RevealOut(object_type=body.object_type, object_id=body.object_id, value=value)


@router.get("/{subject_id}/access-log", response_model=list[AccessLogOut])
def read_access_log(
    subject: OwnedSubject, principal: Auditor, session: SessionDep
) -> list[AccessLogOut]:
    """Every reveal of this subject's values: who, in which role, why, when."""
    return [
        AccessLogOut.model_validate(entry, from_attributes=True)
        for entry in access_log(session, principal.organization_id, subject.id)
    ]


@router.post("/{subject_id}/lifecycle", response_model=LifecycleOut)
def record_subject_lifecycle(
    subject: OwnedSubject,
    body: LifecycleIn,
    principal: Collector,
    session: SessionDep,
    runtime: RuntimeDep,
) -> LifecycleOut:
    """Record when the subject's account was closed and/or their engagement ended. A field left
    out is unchanged; null clears it. Dates in the future or before the subject was created are
    refused (422 names the field)."""
    changes = {name: getattr(body, name) for name in sorted(body.model_fields_set)}
    with _domain_errors(session, runtime, principal):  # InvalidLifecycleDate names the field
        updated = record_lifecycle(
            session, principal.organization_id, subject.id, changes, _actor(principal)
        )
    return LifecycleOut(
        subject_id=updated.id,
        account_closed_at=updated.account_closed_at,
        engagement_ended_at=updated.engagement_ended_at,
    )
