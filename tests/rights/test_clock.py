"""Due dates come from the jurisdiction rules data; business days skip weekends and holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from honorbound.policy.jurisdictions import load_rules
from honorbound.rights import clock
from honorbound.rights.rules import load_rights_rules

LAWS = load_rules()
RIGHTS = load_rights_rules()
# Tuesday before Thanksgiving 2026 (Thursday Nov 26 is a federal holiday).
RECEIVED = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def due(request_type: str, state: str) -> dt.datetime:
    return clock.clock_for(LAWS, RIGHTS, request_type, state, RECEIVED).due_at


@pytest.mark.parametrize(
    ("state", "days"), [("CA", 45), ("IA", 90), ("CO", 45), ("TX", 45), ("FL", 45)]
)
def test_respond_period_counts_calendar_days_from_receipt(state: str, days: int) -> None:
    assert due("delete", state) - RECEIVED == dt.timedelta(days=days)
    assert due("access_specific", state) - RECEIVED == dt.timedelta(days=days)


def test_opt_out_is_fifteen_business_days_skipping_holidays() -> None:
    # Nov 25, 27, 30, Dec 1-4, 7-11, 14-16 are the 15 business days (Nov 26 is Thanksgiving).
    assert due("opt_out_sale", "CA").date() == dt.date(2026, 12, 16)
    assert due("limit_sensitive", "CO").date() == dt.date(2026, 12, 16)
    # New Jersey's own opt-out deadline is 15 calendar days.
    assert due("opt_out_sale", "NJ") - RECEIVED == dt.timedelta(days=15)


def test_acknowledgement_is_due_in_ten_business_days() -> None:
    ack = clock.clock_for(LAWS, RIGHTS, "delete", "CA", RECEIVED).acknowledge_by
    assert ack.date() == dt.date(2026, 12, 9)
    assert clock.business_days_between(RECEIVED.date(), ack.date()) == 10


def test_shine_the_light_and_appeals() -> None:
    assert due("shine_the_light", "CA") - RECEIVED == dt.timedelta(days=30)
    assert due("appeal", "CT") - RECEIVED == dt.timedelta(days=60)
    assert due("appeal", "OR") - RECEIVED == dt.timedelta(days=45)
    # CO grants an appeal with no confirmed deadline: the shortest confirmed one is used.
    assert due("appeal", "CO") - RECEIVED == dt.timedelta(days=RIGHTS.appeal_unknown_days)
    with pytest.raises(clock.NoAppealRight):
        due("appeal", "CA")
    assert not clock.appeal_allowed(LAWS, "UT") and clock.appeal_allowed(LAWS, "VA")


def test_extension_is_the_state_rule() -> None:
    assert clock.extension_for(LAWS, "IA").days == 45
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert clock.add(start, clock.extension_for(LAWS, "CA")) == start + dt.timedelta(days=45)


def test_elapsed_percent() -> None:
    end = RECEIVED + dt.timedelta(days=10)
    assert clock.elapsed_percent(RECEIVED, end, RECEIVED + dt.timedelta(days=5)) == 50
    assert clock.elapsed_percent(RECEIVED, end, RECEIVED - dt.timedelta(days=1)) == 0


def test_every_request_type_has_a_sourced_rule() -> None:
    from honorbound.rights.models import RequestType

    assert set(RIGHTS.types) == {t.value for t in RequestType}
    assert all(rule.source for rule in RIGHTS.types.values())
    assert {n for n, r in RIGHTS.types.items() if r.consent_purpose is not None} == {
        "opt_out_sale",
        "opt_out_sharing",
        "opt_out_targeted_advertising",
        "opt_out_profiling",
        "opt_out_admt",
        "limit_sensitive",
    }
