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

from honorbound.policy.schema import Declaration, Trigger, parse_duration


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
    """Steps for a declaration, given the category keys the vault holds for the organization."""
    steps: list[Step] = []
    skipped: list[NotEnforced] = []
    all_types = [s.id for s in declaration.subjects]
    # The declared category each stored key falls under (nearest declared one).
    declared_of: dict[str, str] = {}
    for key in record_categories:
        cat = declaration.category(key)
        if cat is not None:
            declared_of[key] = cat.key
    for rule in declaration.retention:
        rule_cats = set(declaration.category_keys(rule.categories))
        types = declaration.subject_ids(rule.subjects)
        withdrawal = any(t.trigger == Trigger.until_consent_withdrawn for t in rule.triggers)
        others = [t for t in rule.triggers if t.trigger != Trigger.until_consent_withdrawn]
        for trig in rule.triggers:
            if trig.trigger in NOT_ENFORCEABLE:
                skipped.append(
                    NotEnforced(rule.id, trig.trigger.value, NOT_ENFORCEABLE[trig.trigger])
                )
                continue
            period = trig.period
            if trig.trigger == Trigger.until_consent_withdrawn:
                if period is None and others:
                    # Asking otherwise makes the rule's other triggers apply; nothing extra.
                    continue
                period = period or "P0D"
            if period is None:
                skipped.append(NotEnforced(rule.id, trig.trigger.value, "no period given"))
                continue
            if trig.trigger == Trigger.after_collection:
                for part in INTERACTION_PARTS:
                    cat = declaration.category(part)
                    if cat is None or cat.key not in rule_cats:
                        continue
                    covered = tuple(
                        t
                        for t in types
                        if cat.key in _declared_for_type(declaration, t)
                        and any(r.id == rule.id for r in declaration.retention_rules_for(part, t))
                    )
                    if covered:
                        steps.append(
                            Step(
                                key=f"{rule.id}:{trig.trigger.value}:interactions:{part}",
                                rule_id=rule.id,
                                trigger=trig.trigger,
                                period=period,
                                action=(
                                    Action.DELETE_INTERACTIONS
                                    if part.endswith("interaction_metadata")
                                    else Action.CLEAR_INTERACTION_PART
                                ),
                                categories=(part,),
                                subject_types=None if set(covered) >= set(all_types) else covered,
                                needs_withdrawal=withdrawal,
                                table="interactions",
                            )
                        )
                for key in sorted(k for k, c in declared_of.items() if c in rule_cats):
                    # Rules are matched per subject type: only the types this rule (and not
                    # another rule) governs for this category.
                    covered = tuple(
                        t
                        for t in types
                        if declared_of[key] in _declared_for_type(declaration, t)
                        and any(r.id == rule.id for r in declaration.retention_rules_for(key, t))
                    )
                    if not covered:
                        continue
                    steps.append(
                        Step(
                            key=f"{rule.id}:{trig.trigger.value}:{key}",
                            rule_id=rule.id,
                            trigger=trig.trigger,
                            period=period,
                            action=Action.DELETE_RECORDS,
                            categories=(key,),
                            subject_types=None if set(covered) >= set(all_types) else covered,
                            needs_withdrawal=withdrawal,
                        )
                    )
                # A rule that governs every category a subject type can hold leaves nothing of
                # such a subject once its period has run since the last collection: their
                # identities (contact data too) and the subject go as well ("not stored": an
                # invited friend kept for no other purpose).
                for subject_type in types:
                    wanted = _declared_for_type(declaration, subject_type)
                    if (
                        wanted
                        and wanted <= rule_cats
                        and all(
                            any(
                                r.id == rule.id
                                for r in declaration.retention_rules_for(key, subject_type)
                            )
                            for key in wanted
                        )
                    ):
                        steps.append(
                            Step(
                                key=f"{rule.id}:{trig.trigger.value}:subjects:{subject_type}",
                                rule_id=rule.id,
                                trigger=trig.trigger,
                                period=period,
                                action=Action.ERASE_SUBJECTS,
                                categories=(),
                                subject_types=(subject_type,),
                                needs_withdrawal=withdrawal,
                                table="subjects",
                            )
                        )
                continue
            for subject_type in types:
                wanted = _declared_for_type(declaration, subject_type)
                mine = rule_cats & wanted
                if not mine:
                    continue
                keys: tuple[str, ...] = ()
                if mine >= wanted:
                    action = Action.ERASE_SUBJECTS
                else:
                    action = Action.DELETE_RECORDS
                    keys = tuple(sorted(k for k, c in declared_of.items() if c in mine))
                    if not keys:
                        continue
                steps.append(
                    Step(
                        key=f"{rule.id}:{trig.trigger.value}:{subject_type}",
                        rule_id=rule.id,
                        trigger=trig.trigger,
                        period=period,
                        action=action,
                        categories=keys,
                        subject_types=(subject_type,),
                        needs_withdrawal=withdrawal,
                    )
                )
    return Plan(steps, skipped)
