"""State calling windows of issue 19, one row per state, decided by the real engine against a
real database. The expected windows are typed here from rules-review-2026-12.md s.1.6 (not read
from contact-rules.yaml), so a wrong or missing data row fails."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, number

WED, SAT, SUN = "2026-11-18", "2026-11-21", "2026-11-22"
THANKSGIVING = "2026-11-26"

# state: (time zone, area code, [(day, local time, channel, blocked), ...])
WINDOWS: dict[str, tuple[str, str, list[tuple[str, str, str, bool]]]] = {
    # R.I. Gen. Laws 5-61-2(2), 5-61-3.6: Mon-Fri 9-18, Sat 10-17, never Sundays or holidays.
    "RI": ("America/New_York", "401", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (WED, "17:59", "voice", False), (WED, "18:00", "voice", True),
        (SAT, "09:59", "voice", True), (SAT, "10:00", "voice", False),
        (SAT, "16:59", "voice", False), (SAT, "17:00", "voice", True),
        (SUN, "12:00", "voice", True), (THANKSGIVING, "12:00", "voice", True),
        (SUN, "12:00", "sms", False),  # the RI rule is for calls; texts follow the federal window
    ]),
    "AL": ("America/Chicago", "205", [
        (WED, "07:59", "voice", True), (WED, "08:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
        (SUN, "12:00", "voice", True), (THANKSGIVING, "12:00", "voice", True),
    ]),
    "CT": ("America/New_York", "203", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
    ]),
    "KY": ("America/New_York", "502", [
        (WED, "09:59", "voice", True), (WED, "10:00", "voice", False),
        (WED, "20:59", "voice", False), (WED, "21:00", "voice", True),
    ]),
    "LA": ("America/Chicago", "504", [
        (WED, "07:59", "voice", True), (WED, "08:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
        (SUN, "12:00", "voice", True), (THANKSGIVING, "12:00", "voice", True),
    ]),
    "MA": ("America/New_York", "617", [
        (WED, "07:59", "voice", True), (WED, "08:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
    ]),
    "MI": ("America/Detroit", "313", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (WED, "20:59", "voice", False), (WED, "21:00", "voice", True),
    ]),
    "MN": ("America/Chicago", "612", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (WED, "20:59", "voice", False), (WED, "21:00", "voice", True),
    ]),
    "MS": ("America/Chicago", "601", [
        (WED, "07:59", "voice", True), (WED, "08:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
        (SUN, "12:00", "voice", True),
    ]),
    "NV": ("America/Los_Angeles", "702", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
    ]),
    "NM": ("America/Denver", "505", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (WED, "20:59", "voice", False), (WED, "21:00", "voice", True),
    ]),
    "WA": ("America/Los_Angeles", "206", [
        (WED, "07:59", "voice", True), (WED, "08:00", "voice", False),
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
    ]),
    "UT": ("America/Denver", "801", [
        (WED, "20:30", "voice", False), (SUN, "12:00", "voice", True),
        (THANKSGIVING, "12:00", "voice", True),
    ]),
    "FL": ("America/New_York", "305", [
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
        (WED, "20:00", "sms", True),
    ]),
    "MD": ("America/New_York", "410", [
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
    ]),
    # Oklahoma 8-20 (OTSA 2022): the one calling file now says so; the dead copy is gone.
    "OK": ("America/Chicago", "405", [
        (WED, "19:59", "voice", False), (WED, "20:00", "voice", True),
        (WED, "20:00", "sms", True),
    ]),
    "TX": ("America/Chicago", "214", [
        (WED, "08:59", "voice", True), (WED, "09:00", "voice", False),
        (SUN, "11:59", "voice", True), (SUN, "12:00", "voice", False),
        (SUN, "11:59", "sms", True),
    ]),
    # Federal 8-21 only, for calls and marketing texts (47 CFR 64.1200(c)(1)).
    "NY": ("America/New_York", "212", [
        (WED, "07:59", "voice", True), (WED, "08:00", "voice", False),
        (WED, "20:59", "voice", False), (WED, "21:00", "voice", True),
        (WED, "21:00", "sms", True), (WED, "07:59", "sms", True), (WED, "12:00", "sms", False),
        (THANKSGIVING, "12:00", "voice", False),
    ]),
}  # fmt: skip


@pytest.mark.parametrize("state", sorted(WINDOWS))
def test_state_calling_window(runtime: Runtime, tenant: Tenant, state: str) -> None:
    zone, npa, probes = WINDOWS[state]
    phone = number(npa, 40 + sorted(WINDOWS).index(state))
    for day, clock, channel, blocked in probes:
        when = dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(zone))
        result = decide(
            runtime, tenant.id, [phone], "marketing", channel, when,
            states=[state], time_zones=[zone],
        )  # fmt: skip
        got = "outside_calling_hours" in result.reasons_of(0)
        assert got is blocked, (state, day, clock, channel, result.reasons_of(0))


def test_calling_hours_live_in_one_file_read_by_the_engine() -> None:
    """No other shipped data file carries calling windows (the unused copy in us-rules.yaml,
    which disagreed on Oklahoma, is gone)."""
    root = Path(str(resources.files("honorbound")))
    carriers = []
    for path in sorted(root.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and ("calling_hours" in data or "calling" in data):
            carriers.append(path.relative_to(root).as_posix())
    assert carriers == ["consent/data/contact-rules.yaml"]
