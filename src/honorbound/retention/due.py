"""Due items: what the adopted declaration says must go now, as queries, and the dry run.

Each step of the plan (see `rules.py`) becomes conditions on one vault table: records by
collection time, interactions by start time, subjects by last activity, by their recorded
account closure or engagement end, or by a request not to be kept. Legal holds are applied
on top (`holds.py`). `forecast` counts without writing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, not_, or_, select
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.policy import store
from honorbound.policy.schema import Trigger
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.holds import (
    interactions_held,
    list_holds,
    records_held,
    subjects_held,
)
from honorbound.retention.models import LegalHold, RetentionWithdrawal
from honorbound.retention.rules import Action, NotEnforced, Plan, Step, cutoff, plan
from honorbound.vault.models import Channel, Interaction, Record, Subject, SubjectStatus


def stored_categories(session: Session, organization_id: int) -> list[str]:
    """The distinct category keys the vault holds for the organization, by skipping along the
    (organization, category) index: one short lookup per category, not a scan of the table."""
    found: list[str] = []
    last: str | None = None
    while True:
        query = select(func.min(Record.category)).where(Record.organization_id == organization_id)
        if last is not None:
            query = query.where(Record.category > last)
        key = session.scalar(query)
        if key is None:
            return found
        found.append(key)
        last = key


def _withdrawn(organization_id: int, before: dt.datetime) -> Any:
    return select(RetentionWithdrawal.subject_id).where(
        RetentionWithdrawal.organization_id == organization_id,
        RetentionWithdrawal.asked_at <= before,
    )


def _subject_conditions(
    subject_id: Any, step: Step, organization_id: int, as_of: dt.datetime
) -> list[ColumnElement[bool]]:
    """The step's subject types, and for applicant rules the withdrawal, on a subject column."""
    conds: list[ColumnElement[bool]] = []
    if step.subject_types is not None:
        conds.append(
            subject_id.in_(
                select(Subject.id).where(
                    Subject.organization_id == organization_id,
                    Subject.type.in_(step.subject_types),
                )
            )
        )
    if step.needs_withdrawal:
        conds.append(subject_id.in_(_withdrawn(organization_id, as_of)))
    return conds


def record_due(step: Step, organization_id: int, as_of: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions on Record for an `after_collection` step."""
    conds: list[ColumnElement[bool]] = [
        Record.organization_id == organization_id,
        Record.category == step.categories[0],
        Record.collected_at <= cutoff(as_of, step.period),
    ]
    return conds + _subject_conditions(Record.subject_id, step, organization_id, as_of)


def interaction_due(
    step: Step, organization_id: int, as_of: dt.datetime
) -> list[ColumnElement[bool]]:
    """Conditions on Interaction for an interaction step: started before the cutoff, and still
    holding the part the step disposes of."""
    part = step.categories[0]
    conds: list[ColumnElement[bool]] = [
        Interaction.organization_id == organization_id,
        Interaction.started_at <= cutoff(as_of, step.period),
    ]
    call = Interaction.channel == Channel.CALL.value
    text = or_(Interaction.body_sealed.is_not(None), Interaction.original_sealed.is_not(None))
    if part.endswith("call_recording"):
        conds += [call, Interaction.recording_uri_sealed.is_not(None)]
    elif part.endswith("transcript"):
        conds += [call, text]
    elif part.endswith("chat_log"):
        conds += [Interaction.channel != Channel.CALL.value, text]
    return conds + _subject_conditions(Interaction.subject_id, step, organization_id, as_of)


# The subject column each per-subject trigger runs from (until_consent_withdrawn runs from the
# withdrawal request instead).
SUBJECT_DATE: dict[Trigger, Any] = {
    Trigger.after_last_activity: Subject.last_activity_at,
    # A subject step of an after_collection rule: every collection (upsert, record,
    # interaction) moves last_activity_at, so it is the time of the last one.
    Trigger.after_collection: Subject.last_activity_at,
    Trigger.after_account_closure: Subject.account_closed_at,
    Trigger.after_engagement_end: Subject.engagement_ended_at,
}


def subject_due(step: Step, organization_id: int, as_of: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions on Subject for a per-subject step: the trigger's date (last activity,
    account closure, engagement end) at or before `as_of - period`. A subject with no closure
    or engagement end recorded is never due under those triggers."""
    when = cutoff(as_of, step.period)
    conds: list[ColumnElement[bool]] = [
        Subject.organization_id == organization_id,
        Subject.status != SubjectStatus.ERASED.value,
    ]
    if step.subject_types is not None:
        conds.append(Subject.type.in_(step.subject_types))
    column = SUBJECT_DATE.get(step.trigger)
    if step.trigger == Trigger.after_collection:
        # The rule's record steps ran first; a subject still holding a record (collected
        # later, or held) is not due: only what is left of nobody but identities goes.
        conds.append(
            ~select(Record.id)
            .where(Record.organization_id == organization_id, Record.subject_id == Subject.id)
            .exists()
        )
    if column is not None:
        conds += [column.is_not(None), column <= when]
    elif step.trigger == Trigger.until_consent_withdrawn:  # the request plus its period
        conds.append(Subject.id.in_(_withdrawn(organization_id, when)))
    else:  # a trigger the plan should never have made a subject step of
        raise ValueError(f"no subject date for trigger {step.trigger.value}")
    if step.needs_withdrawal:
        conds.append(Subject.id.in_(_withdrawn(organization_id, as_of)))
    return conds


@dataclass(frozen=True)
class StepForecast:
    rule_id: str
    trigger: str
    action: str
    categories: list[str]
    subject_types: list[str] | None
    records: int
    subjects: int
    oldest: dt.datetime | None
    held_back: int
    # The trigger's ISO 8601 period (P6Y), as the declaration says it.
    period: str = ""


@dataclass(frozen=True)
class Forecast:
    as_of: dt.datetime
    policy_version_id: int
    steps: list[StepForecast]
    not_enforced: list[NotEnforced]

    @property
    def records(self) -> int:
        return sum(s.records for s in self.steps)


def policy_plan(
    session: Session, organization_id: int, version_id: int | None = None
) -> tuple[int, Plan]:
    adopted = (
        store.get_version(session, organization_id, version_id)
        if version_id is not None
        else store.current(session, organization_id)
    )
    if adopted is None:
        raise RetentionInputError(
            "policy", "this organization has adopted no declaration; adopt one first", 409
        )
    return adopted.version_id, plan(
        adopted.declaration, stored_categories(session, organization_id)
    )


def held_back(
    session: Session, step: Step, organization_id: int, as_of: dt.datetime, holds: list[LegalHold]
) -> int:
    if not holds:
        return 0
    if step.table == "interactions":
        conds = interaction_due(step, organization_id, as_of)
        held = interactions_held(holds, step.categories[0])
        return int(session.scalar(select(func.count()).where(*conds, held)) or 0)
    if step.per_record:
        conds = record_due(step, organization_id, as_of)
        return int(session.scalar(select(func.count()).where(*conds, records_held(holds))) or 0)
    sconds = subject_due(step, organization_id, as_of)
    if step.action == Action.ERASE_SUBJECTS:
        return int(
            session.scalar(select(func.count(Subject.id)).where(*sconds, subjects_held(holds))) or 0
        )
    return int(
        session.scalar(
            select(func.count()).where(
                Record.organization_id == organization_id,
                Record.subject_id.in_(select(Subject.id).where(*sconds)),
                Record.category.in_(step.categories),
                records_held(holds),
            )
        )
        or 0
    )


def forecast(session: Session, organization_id: int, as_of: dt.datetime | None = None) -> Forecast:
    """What a sweep would dispose of now, per step: records, subjects, the oldest item (collection
    time, or for erasures the trigger's date: last activity, account closure, engagement end)
    and what holds keep back. Writes nothing."""
    as_of = as_of or utcnow()
    version_id, the_plan = policy_plan(session, organization_id)
    holds = list_holds(session, organization_id)
    out: list[StepForecast] = []
    for step in the_plan.steps:
        if step.table == "interactions":
            iconds = interaction_due(step, organization_id, as_of)
            if holds:
                iconds.append(not_(interactions_held(holds, step.categories[0])))
            records, subjects, oldest = session.execute(
                select(
                    func.count(),
                    func.count(distinct(Interaction.subject_id)),
                    func.min(Interaction.started_at),
                ).where(*iconds)
            ).one()
        elif step.per_record:
            conds = record_due(step, organization_id, as_of)
            if holds:
                conds.append(not_(records_held(holds)))
            records, subjects, oldest = session.execute(
                select(
                    func.count(),
                    func.count(distinct(Record.subject_id)),
                    func.min(Record.collected_at),
                ).where(*conds)
            ).one()
        elif step.action == Action.ERASE_SUBJECTS:
            sconds = subject_due(step, organization_id, as_of)
            if holds:
                sconds.append(not_(subjects_held(holds)))
            subjects, oldest = session.execute(
                select(
                    func.count(Subject.id),
                    func.min(SUBJECT_DATE.get(step.trigger, Subject.last_activity_at)),
                ).where(*sconds)
            ).one()
            records = session.scalar(  # type: ignore[assignment]
                select(func.count()).where(
                    Record.organization_id == organization_id,
                    Record.subject_id.in_(select(Subject.id).where(*sconds)),
                )
            )
        else:
            sconds = subject_due(step, organization_id, as_of)
            conds = [
                Record.organization_id == organization_id,
                Record.subject_id.in_(select(Subject.id).where(*sconds)),
                Record.category.in_(step.categories),
            ]
            if holds:
                conds.append(not_(records_held(holds)))
            records, subjects, oldest = session.execute(
                select(
                    func.count(),
                    func.count(distinct(Record.subject_id)),
                    func.min(Record.collected_at),
                ).where(*conds)
            ).one()
        if isinstance(oldest, str):  # aggregates skip the column type on some drivers
            oldest = dt.datetime.fromisoformat(oldest).replace(tzinfo=dt.UTC)
        elif isinstance(oldest, dt.datetime) and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        out.append(
            StepForecast(
                step.rule_id,
                step.trigger.value,
                step.action.value,
                list(step.categories),
                list(step.subject_types) if step.subject_types is not None else None,
                int(records or 0),
                int(subjects or 0),
                oldest,
                held_back(session, step, organization_id, as_of, holds),
                step.period,
            )
        )
    return Forecast(as_of, version_id, out, the_plan.not_enforced)
