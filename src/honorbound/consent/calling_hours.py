"""Where a North American number rings, and whether a call or text may go out there now.

Time zones and states come from phonenumbers' own prefix data, per area code. When an area
code spans several zones or states (or phonenumbers only knows it at exchange level), every
zone and state seen under it counts, and a call is allowed only if it is allowed in all of them:
the conservative reading of "the called party's local time".

States per area code are read from `data/nanp-area-code-states.json`, a small table generated
from phonenumbers' geocoder data (`python -m honorbound.consent.calling_hours`), so the server
does not import that 100 MB module; a test regenerates it and compares.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from phonenumbers.tzdata import TIMEZONE_DATA

from honorbound.consent.rules import ContactRules

# USPS codes for the names phonenumbers' English geocoder data uses (not a legal rule).
STATE_CODES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Washington D.C.": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington State": "WA", "Washington": "WA", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "Puerto Rico": "PR", "Guam": "GU",
}  # fmt: skip
_US_CODES = frozenset(STATE_CODES.values())
US_STATE_CODES = _US_CODES


def _state_of(description: str) -> str | None:
    if description in STATE_CODES:
        return STATE_CODES[description]
    _, _, tail = description.rpartition(", ")
    return tail if tail in _US_CODES else None


@cache
def zones_for_area_code(npa: str) -> tuple[str, ...]:
    prefix = f"1{npa}"
    zones = {z for key, value in TIMEZONE_DATA.items() if key.startswith(prefix) for z in value}
    if not zones:  # unknown to the data: every NANP zone, so only hours legal everywhere pass
        zones = set(TIMEZONE_DATA["1"])
    return tuple(sorted(zones))


AREA_CODE_STATES = "nanp-area-code-states.json"


def derive_area_code_states(geocode: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]]:
    """Area code -> sorted USPS codes, from phonenumbers' `GEOCODE_DATA` (the generator)."""
    found: dict[str, set[str]] = {}
    for key, value in geocode.items():
        if len(key) >= 4 and key[0] == "1":
            state = _state_of(value.get("en", ""))
            if state:
                found.setdefault(key[1:4], set()).add(state)
    return {npa: sorted(found[npa]) for npa in sorted(found)}


@cache
def _states_by_area_code() -> dict[str, frozenset[str]]:
    table = json.loads(files("honorbound.consent").joinpath("data", AREA_CODE_STATES).read_text())
    return {npa: frozenset(states) for npa, states in table["states"].items()}


def states_for_area_code(npa: str) -> frozenset[str]:
    return _states_by_area_code().get(npa, frozenset())


@cache
def zones_for_state(state: str) -> tuple[str, ...]:
    """Every zone the area codes of `state` ring in (a state spanning zones gets them all).

    Area codes shared with another state are used only when the state has none of its own."""
    by_code = _states_by_area_code()
    codes = [npa for npa, states in by_code.items() if states == {state}]
    codes = codes or [npa for npa, states in by_code.items() if state in states]
    zones = {zone for npa in codes for zone in zones_for_area_code(npa)}
    if not zones:  # unknown: every NANP zone, so only hours legal everywhere pass
        zones = set(TIMEZONE_DATA["1"])
    return tuple(sorted(zones))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def known_zone(name: str) -> bool:
    try:
        _zone(name)
    except (ValueError, OSError, KeyError):
        return False
    return True


@cache
def _holidays(state: str, year: int) -> frozenset[dt.date]:
    import holidays  # on first use: some 400 modules, about 19 MB

    try:
        calendar = holidays.country_holidays("US", subdiv=state, years=year)
    except NotImplementedError:
        calendar = holidays.country_holidays("US", years=year)
    return frozenset(calendar)


def is_holiday(state: str, day: dt.date) -> bool:
    """A legal holiday in `state` (federal and state holidays, per the `holidays` package)."""
    return day in _holidays(state, day.year)


def allowed_at(
    rules: ContactRules,
    at: dt.datetime,
    zones: tuple[str, ...],
    states: frozenset[str],
    channel: str,
) -> bool:
    """True when `at` is inside every applicable window in every zone the callee may be in."""
    for zone in zones:
        local = at.astimezone(_zone(zone))
        windows = rules.windows_for(None, channel, local.date())
        for state in states:
            windows += [
                w for w in rules.windows_for(state, channel, local.date()) if w.state != "*"
            ]
        for window in windows:
            allowed = window.window_for(local.date())
            if allowed is None or not (allowed[0] <= local.time() < allowed[1]):
                return False
        for state in states:
            if rules.holiday_ban(state, channel) and is_holiday(state, local.date()):
                return False
    return True


def cap_for(rules: ContactRules, states: frozenset[str]) -> tuple[int, dt.timedelta] | None:
    """The strictest call cap among the states the callee may be in, if any."""
    caps = [c for c in (rules.cap_for(s) for s in states) if c is not None]
    if not caps:
        return None
    return min(c.max_calls for c in caps), max(c.window for c in caps)


def main() -> None:
    """Regenerate the area-code table from the installed phonenumbers (run after upgrading it)."""
    import phonenumbers
    from phonenumbers.geodata import GEOCODE_DATA

    source = (
        f"phonenumbers {phonenumbers.__version__} geocoder data (English names), "
        "generated by `python -m honorbound.consent.calling_hours`; not a legal rule."
    )
    states = derive_area_code_states(GEOCODE_DATA)
    path = files("honorbound.consent").joinpath("data", AREA_CODE_STATES)
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in states.items())
    text = f'{{\n "source": {json.dumps(source)},\n "states": {{\n{rows}\n }}\n}}\n'
    if "--check" in sys.argv:
        raise SystemExit(0 if path.read_text() == text else 1)
    with open(str(path), "w", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
