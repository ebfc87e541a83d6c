"""`after_account_closure` and `after_engagement_end`: due at the date recorded on the subject
plus the rule's period, in the dry run and the sweep; holds still protect."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.retention.certificates import (
    document,
    load_public_key,
    public_key_pem,
    verify_document,
)
from honorbound.retention.due import Forecast, StepForecast, forecast
from honorbound.retention.holds import place_hold, release_hold
from honorbound.retention.models import DisposalEntry, RetentionRun
from honorbound.retention.sweep import SweepResult, sweep
from honorbound.runtime import Runtime
from honorbound.vault.models import Record, Subject
from honorbound.vault.subjects import record_lifecycle
from tests.conftest import Tenant
from tests.retention.factory import (
    ADMIN,
    DECLARATION,
    add_records,
    add_subject,
    adopt,
    days_ago,
)

EMAIL = "user.contact.email"
HEALTH = "user.biometric.health"
REC = "user.contact_center.call_recording"
PERIOD = dt.timedelta(days=30)


def _declaration() -> str:
    """The test declaration with a 30-day period after closure (customers) and an
    engagement-end trigger for prospects (a rule over all their categories: an erasure)."""
    text = DECLARATION.read_text()
    closure = "{trigger: after_account_closure, period: P0D}"
    prospects = "triggers: [{trigger: after_last_activity, period: P1Y}]"
    assert closure in text and prospects in text
    return text.replace(closure, "{trigger: after_account_closure, period: P30D}").replace(
        prospects,
        "triggers: [{trigger: after_last_activity, period: P1Y}, "
        "{trigger: after_engagement_end, period: P30D}]",
    )


def _subject(runtime: Runtime, org: int, kind: str, field: str | None, when: dt.datetime) -> int:
    sid = add_subject(runtime, org, kind, created_at=days_ago(400))
    if field is not None:
        with runtime.db.session() as session:
            record_lifecycle(session, org, sid, {field: when}, ADMIN)
    return sid


def _step(result: Forecast, rule: str, trigger: str) -> StepForecast:
    return next(s for s in result.steps if s.rule_id == rule and s.trigger == trigger)


def _dry(runtime: Runtime, org: int, as_of: dt.datetime) -> Forecast:
    with runtime.db.session() as session:
        return forecast(session, org, as_of)


def _sweep(runtime: Runtime, org: int, **kwargs: object) -> SweepResult:
    return sweep(runtime.db, runtime.keys, runtime.vault_keys, org, Actor.system(), **kwargs)  # type: ignore[arg-type]


def _records(runtime: Runtime, subject_id: int) -> dict[str, int]:
    with runtime.db.session() as session:
        rows = session.execute(
            select(Record.category, func.count())
            .where(Record.subject_id == subject_id)
            .group_by(Record.category)
        ).all()
    return {str(category): int(count) for category, count in rows}


def _status(runtime: Runtime, subject_id: int) -> str:
    with runtime.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        return subject.status


def _entries(runtime: Runtime, org: int) -> list[DisposalEntry]:
    with runtime.db.session() as session:
        rows = list(
            session.scalars(
                select(DisposalEntry)
                .where(DisposalEntry.organization_id == org)
                .order_by(DisposalEntry.id)
            )
        )
        session.expunge_all()
        return rows


def test_account_closure_deletes_the_rules_records_at_closure_plus_period(
    runtime: Runtime, tenant: Tenant
) -> None:
    org = tenant.id
    adopt(runtime, org, _declaration())
    closed = days_ago(31).replace(microsecond=0)
    due = _subject(runtime, org, "customer", "account_closed_at", closed)
    recent = _subject(runtime, org, "customer", "account_closed_at", days_ago(29))
    still_open = _subject(runtime, org, "customer", None, closed)
    held = _subject(runtime, org, "customer", "account_closed_at", closed)
    add_records(runtime, org, due, EMAIL, [days_ago(300), days_ago(200)])
    add_records(runtime, org, due, HEALTH, [days_ago(250)])
    add_records(runtime, org, due, REC, [days_ago(1)])  # another rule's category: stays
    for subject in (recent, still_open, held):
        add_records(runtime, org, subject, EMAIL, [days_ago(300)])
    with runtime.db.session() as session:
        hold = place_hold(session, org, ADMIN, reason="case 24-117", owner="legal", subject_id=held)
        hold_id = hold.id

    # The dry run, just before and exactly at closure + period.
    before = _step(
        _dry(runtime, org, closed + PERIOD - dt.timedelta(seconds=1)),
        "customers",
        "after_account_closure",
    )
    assert (before.records, before.subjects) == (0, 0)
    at = _step(_dry(runtime, org, closed + PERIOD), "customers", "after_account_closure")
    assert (at.action, at.records, at.subjects, at.held_back) == ("delete_records", 3, 1, 1)
    now = _dry(runtime, org, days_ago(0))
    assert [n.trigger for n in now.not_enforced] == ["while_necessary"]
    assert _step(now, "customers", "after_account_closure").records == 3
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RetentionRun)) == 0
    assert _records(runtime, due) == {EMAIL: 2, HEALTH: 1, REC: 1}

    # A sweep as of one second too early disposes of nothing under the trigger.
    early = _sweep(runtime, org, as_of=closed + PERIOD - dt.timedelta(seconds=1))
    assert early.records == 0 and _entries(runtime, org) == []

    result = _sweep(runtime, org)
    assert result.records == 3 and result.subjects == 0
    assert result.held_back["customers:after_account_closure:customer"] == 1
    assert _records(runtime, due) == {REC: 1} and _status(runtime, due) == "active"
    for subject in (recent, still_open, held):
        assert _records(runtime, subject) == {EMAIL: 1}
    [entry] = _entries(runtime, org)
    assert (entry.rule_id, entry.trigger, entry.action, entry.records, entry.subjects) == (
        "customers",
        "after_account_closure",
        "delete_records",
        3,
        1,
    )
    assert entry.categories == {EMAIL: 2, HEALTH: 1}
    cert = verify_document(
        document(entry.certificate, entry.signature),
        load_public_key(public_key_pem(runtime.keys, org)),
    )
    assert (cert["trigger"], cert["period"], cert["records"]) == (
        "after_account_closure",
        "P30D",
        3,
    )

    # Released, the held subject's records go at the next sweep; the rest stays.
    with runtime.db.session() as session:
        release_hold(session, org, hold_id, ADMIN, "case settled")
    again = _sweep(runtime, org)
    assert again.records == 1 and _records(runtime, held) == {}
    assert _records(runtime, recent) == {EMAIL: 1} and _records(runtime, still_open) == {EMAIL: 1}


def test_engagement_end_erases_subjects_at_end_plus_period(
    runtime: Runtime, tenant: Tenant
) -> None:
    org = tenant.id
    adopt(runtime, org, _declaration())
    ended = days_ago(31).replace(microsecond=0)
    due = _subject(runtime, org, "prospect", "engagement_ended_at", ended)
    recent = _subject(runtime, org, "prospect", "engagement_ended_at", days_ago(29))
    never = _subject(runtime, org, "prospect", None, ended)
    held = _subject(runtime, org, "prospect", "engagement_ended_at", ended)
    # An account closure date means nothing to a rule with only an engagement-end trigger.
    closed_only = _subject(runtime, org, "prospect", "account_closed_at", ended)
    for subject in (due, recent, never, held, closed_only):
        add_records(runtime, org, subject, EMAIL, [days_ago(300), days_ago(100)])
    with runtime.db.session() as session:
        place_hold(session, org, ADMIN, reason="case 24-118", owner="legal", subject_id=held)

    before = _step(
        _dry(runtime, org, ended + PERIOD - dt.timedelta(seconds=1)),
        "prospects",
        "after_engagement_end",
    )
    assert (before.subjects, before.records) == (0, 0)
    at = _step(_dry(runtime, org, ended + PERIOD), "prospects", "after_engagement_end")
    assert (at.action, at.subjects, at.records, at.held_back) == ("erase_subjects", 1, 2, 1)
    assert at.oldest == ended  # for an erasure: the trigger's date
    assert _status(runtime, due) == "active" and _records(runtime, due) == {EMAIL: 2}

    result = _sweep(runtime, org)
    assert (result.subjects, result.records) == (1, 2)
    assert _status(runtime, due) == "erased" and _records(runtime, due) == {}
    for subject in (recent, never, held, closed_only):
        assert _status(runtime, subject) == "active" and _records(runtime, subject) == {EMAIL: 2}
    [entry] = _entries(runtime, org)
    assert (entry.rule_id, entry.trigger, entry.action, entry.subjects) == (
        "prospects",
        "after_engagement_end",
        "erase_subjects",
        1,
    )


def test_clearing_the_date_stops_the_trigger(runtime: Runtime, tenant: Tenant) -> None:
    org = tenant.id
    adopt(runtime, org, _declaration())
    sid = _subject(runtime, org, "customer", "account_closed_at", days_ago(60))
    add_records(runtime, org, sid, EMAIL, [days_ago(100)])
    assert _step(_dry(runtime, org, days_ago(0)), "customers", "after_account_closure").records == 1
    with runtime.db.session() as session:
        record_lifecycle(session, org, sid, {"account_closed_at": None}, ADMIN)  # reopened
    assert _step(_dry(runtime, org, days_ago(0)), "customers", "after_account_closure").records == 0
    assert _sweep(runtime, org).records == 0 and _records(runtime, sid) == {EMAIL: 1}
