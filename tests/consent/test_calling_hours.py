"""Calling hours in the callee's local time, state variations, holidays and call caps, decided
by the real engine against a real database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, number, reasons, record_attempts

EASTERN = ZoneInfo("America/New_York")
CENTRAL = ZoneInfo("America/Chicago")


def at(zone: ZoneInfo, day: str, clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)


def blocked_by_hours(
    runtime: Runtime,
    tenant: Tenant,
    phone: str,
    when: dt.datetime,
    channel: str = "voice",
    **kwargs: object,
) -> bool:
    result = decide(runtime, tenant.id, [phone], "marketing", channel, when, **kwargs)
    if channel == "sms":
        assert set(result.reasons_of(0)) <= {"outside_calling_hours", "consent_required"}
    return "outside_calling_hours" in result.reasons_of(0)


# Wednesday 2026-11-18 (no holiday anywhere).
@pytest.mark.parametrize(
    ("npa", "zone", "clock", "blocked"),
    [
        ("212", EASTERN, "07:59", True),  # NY: federal 8-21
        ("212", EASTERN, "08:00", False),
        ("212", EASTERN, "20:59", False),
        ("212", EASTERN, "21:00", True),
        ("305", EASTERN, "19:59", False),  # FL: 8-20
        ("305", EASTERN, "20:30", True),
        ("410", EASTERN, "20:30", True),  # MD: 8-20
        ("410", EASTERN, "07:30", True),
        ("405", CENTRAL, "20:30", True),  # OK: 8-20
        ("405", CENTRAL, "19:30", False),
        ("214", CENTRAL, "08:30", True),  # TX: 9-21 Mon-Sat
        ("214", CENTRAL, "09:30", False),
        ("214", CENTRAL, "20:30", False),
    ],
)
def test_weekday_windows(
    runtime: Runtime, tenant: Tenant, npa: str, zone: ZoneInfo, clock: str, blocked: bool
) -> None:
    phone = number(npa, 10)
    assert blocked_by_hours(runtime, tenant, phone, at(zone, "2026-11-18", clock)) is blocked


def test_texas_sunday_starts_at_noon_and_covers_texts(runtime: Runtime, tenant: Tenant) -> None:
    phone = number("214", 11)
    sunday = "2026-11-22"
    assert blocked_by_hours(runtime, tenant, phone, at(CENTRAL, sunday, "11:30"))
    assert not blocked_by_hours(runtime, tenant, phone, at(CENTRAL, sunday, "12:30"))
    assert blocked_by_hours(runtime, tenant, phone, at(CENTRAL, sunday, "11:30"), "sms")
    # The federal quiet hours (8-21) cover marketing texts too: a New York text at 22:30 waits.
    assert blocked_by_hours(runtime, tenant, number("212", 11), at(EASTERN, sunday, "22:30"), "sms")
    assert not blocked_by_hours(
        runtime, tenant, number("212", 11), at(EASTERN, sunday, "20:30"), "sms"
    )


def test_texas_rule_applies_only_from_its_effective_date(runtime: Runtime, tenant: Tenant) -> None:
    phone = number("214", 12)
    before = "2025-08-24"  # a Sunday before 2025-09-01: the federal window only
    assert not blocked_by_hours(runtime, tenant, phone, at(CENTRAL, before, "11:00"))
    assert blocked_by_hours(runtime, tenant, phone, at(CENTRAL, "2025-09-07", "11:00"))


def test_no_solicitation_calls_on_a_state_holiday(runtime: Runtime, tenant: Tenant) -> None:
    phone = number("504", 13)  # Louisiana
    # 2026-07-03: Independence Day observed (July 4 is a Saturday).
    assert blocked_by_hours(runtime, tenant, phone, at(CENTRAL, "2026-07-03", "10:00"))
    assert not blocked_by_hours(runtime, tenant, phone, at(CENTRAL, "2026-07-06", "10:00"))
    # Thanksgiving in a state without the ban: allowed.
    assert not blocked_by_hours(
        runtime, tenant, number("212", 13), at(EASTERN, "2026-11-26", "10:00")
    )


def test_item_state_and_zone_override_the_area_code(runtime: Runtime, tenant: Tenant) -> None:
    phone = number("212", 14)  # a New York number whose owner lives in Florida
    when = at(EASTERN, "2026-11-18", "20:30")
    assert not blocked_by_hours(runtime, tenant, phone, when)
    assert blocked_by_hours(
        runtime, tenant, phone, when, states=["FL"], time_zones=["America/New_York"]
    )


def test_service_messages_and_email_ignore_calling_hours(runtime: Runtime, tenant: Tenant) -> None:
    phone = number("212", 15)
    night = at(EASTERN, "2026-11-18", "23:30")
    result = decide(runtime, tenant.id, [phone], "service_messages", "voice", night)
    assert result.allowed[0]


def _attempts(runtime: Runtime, tenant: Tenant, phone: str, times: list[dt.datetime]) -> None:
    record_attempts(runtime, tenant.id, phone, times)


def test_call_cap_three_per_24_hours_in_florida(runtime: Runtime, tenant: Tenant) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fl, ny = number("305", 16), number("212", 16)
    hours = [now - dt.timedelta(hours=h) for h in (20, 10, 2)]
    # A decision first (builds the snapshot), then the attempts: the engine sees them at once.
    decide(runtime, tenant.id, [fl, ny], "marketing", "voice", now)
    _attempts(runtime, tenant, fl, hours)
    _attempts(runtime, tenant, ny, hours)
    result = decide(runtime, tenant.id, [fl, ny], "marketing", "voice", now)
    assert "call_cap_reached" in result.reasons_of(0)
    assert "call_cap_reached" not in result.reasons_of(1)
    # 21 hours later the oldest attempt has left the 24-hour window.
    later = now + dt.timedelta(hours=5)
    result = decide(runtime, tenant.id, [fl], "marketing", "voice", later)
    assert "call_cap_reached" not in result.reasons_of(0)


def test_two_attempts_do_not_reach_the_cap(runtime: Runtime, tenant: Tenant) -> None:
    now = dt.datetime.now(dt.UTC)
    md = number("410", 17)
    _attempts(runtime, tenant, md, [now - dt.timedelta(hours=3), now - dt.timedelta(hours=1)])
    assert (
        "call_cap_reached"
        not in reasons(decide(runtime, tenant.id, [md], "marketing", "voice", now))[0]
    )
    _attempts(runtime, tenant, md, [now - dt.timedelta(minutes=5)])
    assert (
        "call_cap_reached"
        in reasons(decide(runtime, tenant.id, [md], "marketing", "voice", now))[0]
    )


def test_many_distinct_times_in_one_batch(runtime: Runtime, tenant: Tenant) -> None:
    """Scheduled calls (over 32 distinct minutes) take the per-(minute, area code) path and
    agree with the rule, minute by minute."""
    ny, fl = number("212", 18), number("305", 18)
    start = at(EASTERN, "2026-11-18", "06:00")
    times = [start + dt.timedelta(minutes=7 * k) for k in range(150)]  # 06:00 to 23:23
    result = decide(runtime, tenant.id, [ny, fl] * 150, "marketing", "voice",
                    [t for t in times for _ in range(2)])  # fmt: skip
    for k, when in enumerate(times):
        local = when.astimezone(EASTERN).time()
        assert ("outside_calling_hours" in result.reasons_of(2 * k)) is not (
            dt.time(8) <= local < dt.time(21)
        ), when
        assert ("outside_calling_hours" in result.reasons_of(2 * k + 1)) is not (
            dt.time(8) <= local < dt.time(20)
        ), when


def test_call_caps_follow_the_callees_own_state(runtime: Runtime, tenant: Tenant) -> None:
    """Like calling hours, a state named with the item decides the cap: a New York number
    whose owner lives in Florida gets Florida's three calls per 24 hours, a Florida number
    whose owner lives in New York gets none."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ny_in_fl, fl_in_ny = number("212", 19), number("305", 19)
    hours = [now - dt.timedelta(hours=h) for h in (20, 10, 2)]
    decide(runtime, tenant.id, [ny_in_fl, fl_in_ny], "marketing", "voice", now)
    _attempts(runtime, tenant, ny_in_fl, hours)
    _attempts(runtime, tenant, fl_in_ny, hours)
    by_area = decide(runtime, tenant.id, [ny_in_fl, fl_in_ny], "marketing", "voice", now)
    assert "call_cap_reached" not in by_area.reasons_of(0)
    assert "call_cap_reached" in by_area.reasons_of(1)
    named = decide(
        runtime, tenant.id, [ny_in_fl, fl_in_ny], "marketing", "voice", now, states=["FL", "NY"]
    )
    assert "call_cap_reached" in named.reasons_of(0)
    assert "call_cap_reached" not in named.reasons_of(1)
