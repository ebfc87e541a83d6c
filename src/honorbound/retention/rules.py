"""From the adopted declaration to enforceable sweep steps.

A declaration says "category x subject type: kept until trigger + period, whichever comes
first". The sweep works in steps, one per (rule, trigger, category or subject type), each a
query that finds what is due and a way to dispose of it:

- `after_collection` is per record: records of the category collected before `as_of - period`
  are deleted (the subject's key stays: their other data still needs it). Interactions started
  before then lose the part the category names (recording pointer, transcript, chat text), or
  the whole row for `user.contact_center.interaction_metadata`. When the rule governs every
  category a subject type can hold, subjects of that type whose last collection (their last
  activity) is before `as_of - period` are erased too, identities and all: with `P0D`, a
  "not stored" invited friend does not stay behind as an email address.
- `after_last_activity` is per subject: when the rule covers every category the subject type
  can hold, the subject is erased (its data key is destroyed, then its rows deleted); when it
  covers only some, those records are deleted.
- `until_consent_withdrawn` turns the rule into "kept until the subject asks otherwise" (a job
  applicant kept for future openings): the rule's triggers apply only to subjects with a
  withdrawal on file, and the withdrawal's own period (if any) runs from the request.
- `after_account_closure` and `after_engagement_end` are per subject, like
  `after_last_activity`, but run from the date recorded on the subject (`account_closed_at`,
  `engagement_ended_at`, see `vault.subjects.record_lifecycle`); subjects with no date recorded
  are not due under them.
- `while_necessary` names no period and cannot be enforced; it is reported, not run.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from honorbound.policy.schema import (
    Declaration,
    RetentionRule,
    RetentionTrigger,
    Trigger,
    parse_duration,
)


class Action(StrEnum):
    DELETE_RECORDS = "delete_records"
    ERASE_SUBJECTS = "erase_subjects"
    # Interactions (calls, chats) hold several categories in one row: a rule for one of them
    # clears that part (the recording pointer, or the text); a rule for the interaction
    # metadata deletes the row.
    CLEAR_INTERACTION_PART = "clear_interaction_part"
    DELETE_INTERACTIONS = "delete_interactions"


# The parts of a vault interaction, by the category key each one is.
INTERACTION_PARTS = (
    "user.contact_center.call_recording",
    "user.contact_center.transcript",
    "user.contact_center.chat_log",
    "user.contact_center.interaction_metadata",
)


SUBJECT_TRIGGERS = frozenset(
    {
        Trigger.after_last_activity,
        Trigger.until_consent_withdrawn,
        Trigger.after_account_closure,
        Trigger.after_engagement_end,
    }
)


class Unenforced(StrEnum):
    """Why a rule's trigger is not enforced: a stable code (adapters word it in the reader's
    language; `NotEnforced.reason` is the English sentence the API and CLI show)."""

    NAMES_NO_PERIOD = "names_no_period"  # "as long as necessary"
    NO_PERIOD_GIVEN = "no_period_given"


NOT_ENFORCEABLE = {
    Trigger.while_necessary: "'as long as necessary' names no period; write one in the "
    "declaration to have it enforced",
}


@dataclass(frozen=True)
class Step:
    """One due-item query of the sweep. `key` names it in a run's progress (stable across a
    crash and resume)."""

    key: str
    rule_id: str
    trigger: Trigger
    period: str
    action: Action
    # Record category keys (as stored in the vault) this step deletes; empty for an erasure.
    categories: tuple[str, ...]
    # Subject types the step applies to; None means any type.
    subject_types: tuple[str, ...] | None
    # Only subjects who asked not to be kept (rules with `until_consent_withdrawn`).
    needs_withdrawal: bool
    # "records", "interactions" or "subjects": which vault table an `after_collection` step
    # works on (per subject steps of other triggers leave it "records").
    table: str = "records"

    @property
    def per_record(self) -> bool:
        """An `after_collection` step on records: each record's own collection time counts."""
        return self.trigger == Trigger.after_collection and self.table == "records"

    @property
    def reason(self) -> str:
        return f"retention:{self.rule_id}:{self.trigger.value}"


@dataclass(frozen=True)
class NotEnforced:
    rule_id: str
    trigger: str
    reason: str
    code: Unenforced


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    not_enforced: list[NotEnforced]


def cutoff(as_of: dt.datetime, period: str) -> dt.datetime:
    """`as_of` minus an ISO 8601 period, in calendar terms (P1Y from 29 Feb lands on 28 Feb)."""
    years, months, weeks, days = parse_duration(period)
    total = as_of.year * 12 + (as_of.month - 1) - years * 12 - months
    year, month = divmod(total, 12)
    month += 1
    day = min(as_of.day, calendar.monthrange(year, month)[1])
    return as_of.replace(year=year, month=month, day=day) - dt.timedelta(weeks=weeks, days=days)


def _declared_for_type(declaration: Declaration, subject_type: str) -> set[str]:
    return {
        c.key for c in declaration.categories if subject_type in declaration.subject_ids(c.subjects)
    }


def plan(declaration: Declaration, record_categories: list[str]) -> Plan:
    """Steps for a declaration, given the category keys the vault holds for the organization.

    Per rule and trigger, in named steps: the trigger's period (`_period`, or why it is not
    enforced); for `after_collection`, steps per interaction part, per stored record
    category and, where the rule governs everything a subject type holds, erasure of such
    subjects (`_after_collection_steps`); for the event triggers, per subject type
    (`_event_steps`)."""
    steps: list[Step] = []
    skipped: list[NotEnforced] = []
    # The declared category each stored key falls under (nearest declared one).
    declared_of: dict[str, str] = {}
    for key in record_categories:
        cat = declaration.category(key)
        if cat is not None:
            declared_of[key] = cat.key
    for rule in declaration.retention:
        others = [t for t in rule.triggers if t.trigger != Trigger.until_consent_withdrawn]
        for trig in rule.triggers:
            period = _period(rule, trig, bool(others), skipped)
            if period is None:
                continue
            ctx = _RuleStep(
                declaration=declaration,
                rule=rule,
                trigger=trig.trigger,
                period=period,
                rule_cats=set(declaration.category_keys(rule.categories)),
                types=declaration.subject_ids(rule.subjects),
                all_types=[s.id for s in declaration.subjects],
                declared_of=declared_of,
                withdrawal=len(others) != len(rule.triggers),
            )
            if trig.trigger == Trigger.after_collection:
                steps.extend(_after_collection_steps(ctx))
            else:
                steps.extend(_event_steps(ctx))
    return Plan(steps, skipped)


def _period(
    rule: RetentionRule, trig: RetentionTrigger, has_others: bool, skipped: list[NotEnforced]
) -> str | None:
    """The trigger's period; None when it adds no step (noted in `skipped` when that is
    because it cannot be enforced or has no period)."""
    if trig.trigger in NOT_ENFORCEABLE:
        skipped.append(
            NotEnforced(
                rule.id,
                trig.trigger.value,
                NOT_ENFORCEABLE[trig.trigger],
                Unenforced.NAMES_NO_PERIOD,
            )
        )
        return None
    period: str | None = trig.period
    if trig.trigger == Trigger.until_consent_withdrawn:
        if period is None and has_others:
            # Asking otherwise makes the rule's other triggers apply; nothing extra.
            return None
        period = period or "P0D"
    if period is None:
        skipped.append(
            NotEnforced(rule.id, trig.trigger.value, "no period given", Unenforced.NO_PERIOD_GIVEN)
        )
    return period


@dataclass(frozen=True)
class _RuleStep:
    """One rule's trigger with its period, and what its steps are computed from."""

    declaration: Declaration
    rule: RetentionRule
    trigger: Trigger
    period: str
    rule_cats: set[str]
    types: list[str]
    all_types: list[str]
    declared_of: dict[str, str]
    withdrawal: bool

    def step(self, name: str, action: Action, categories: tuple[str, ...], **kw: Any) -> Step:
        return Step(
            key=f"{self.rule.id}:{self.trigger.value}:{name}",
            rule_id=self.rule.id,
            trigger=self.trigger,
            period=self.period,
            action=action,
            categories=categories,
            needs_withdrawal=self.withdrawal,
            **kw,
        )

    def governs(self, key: str, subject_type: str) -> bool:
        """This rule (and not another) governs category `key` for the subject type."""
        rules = self.declaration.retention_rules_for(key, subject_type)
        return any(r.id == self.rule.id for r in rules)

    def covered(self, key: str, declared_key: str) -> tuple[str, ...]:
        """The rule's subject types that may hold `declared_key` and that it governs for
        `key` (rules are matched per subject type)."""
        return tuple(
            t
            for t in self.types
            if declared_key in _declared_for_type(self.declaration, t) and self.governs(key, t)
        )

    def subject_types(self, covered: tuple[str, ...]) -> tuple[str, ...] | None:
        return None if set(covered) >= set(self.all_types) else covered


def _after_collection_steps(ctx: _RuleStep) -> list[Step]:
    declaration = ctx.declaration
    steps: list[Step] = []
    for part in INTERACTION_PARTS:
        cat = declaration.category(part)
        if cat is None or cat.key not in ctx.rule_cats:
            continue
        covered = ctx.covered(part, cat.key)
        if covered:
            action = (
                Action.DELETE_INTERACTIONS
                if part.endswith("interaction_metadata")
                else Action.CLEAR_INTERACTION_PART
            )
            steps.append(
                ctx.step(
                    f"interactions:{part}",
                    action,
                    (part,),
                    subject_types=ctx.subject_types(covered),
                    table="interactions",
                )
            )
    for key in sorted(k for k, c in ctx.declared_of.items() if c in ctx.rule_cats):
        covered = ctx.covered(key, ctx.declared_of[key])
        if covered:
            steps.append(
                ctx.step(
                    key, Action.DELETE_RECORDS, (key,), subject_types=ctx.subject_types(covered)
                )
            )
    # A rule that governs every category a subject type can hold leaves nothing of
    # such a subject once its period has run since the last collection: their
    # identities (contact data too) and the subject go as well ("not stored": an
    # invited friend kept for no other purpose).
    for subject_type in ctx.types:
        wanted = _declared_for_type(declaration, subject_type)
        if (
            wanted
            and wanted <= ctx.rule_cats
            and all(ctx.governs(key, subject_type) for key in wanted)
        ):
            steps.append(
                ctx.step(
                    f"subjects:{subject_type}",
                    Action.ERASE_SUBJECTS,
                    (),
                    subject_types=(subject_type,),
                    table="subjects",
                )
            )
    return steps


def _event_steps(ctx: _RuleStep) -> list[Step]:
    """An event trigger: per subject type, erase the subject when the rule covers all it may
    hold, else delete the records of the covered categories."""
    steps: list[Step] = []
    for subject_type in ctx.types:
        wanted = _declared_for_type(ctx.declaration, subject_type)
        mine = ctx.rule_cats & wanted
        if not mine:
            continue
        keys: tuple[str, ...] = ()
        if mine >= wanted:
            action = Action.ERASE_SUBJECTS
        else:
            action = Action.DELETE_RECORDS
            keys = tuple(sorted(k for k, c in ctx.declared_of.items() if c in mine))
            if not keys:
                continue
        steps.append(ctx.step(subject_type, action, keys, subject_types=(subject_type,)))
    return steps
