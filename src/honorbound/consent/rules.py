"""The contact rules the consent package applies, loaded from `data/contact-rules.yaml`.

The numbers (10 business days, 5 years, 31 days, calling hours, caps, SMS keywords) live in the
data file with their legal source, not in code. The override file (`HONORBOUND_RULES_FILE`) may
change them in its `contact_rules` section, with the same shape as the data file (mappings
merged key by key, lists replaced whole). `honorbound.runtime` loads them once
(`Runtime.contact_rules`) and hands them to every consumer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from honorbound.policy.jurisdictions import CONTACT_RULES_SECTION, merge_over, read_override

DATA = Path(__file__).with_name("data") / "contact-rules.yaml"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class CallingWindow:
    state: str  # USPS code, or "*" for the federal default
    channels: frozenset[str]
    start: dt.time
    end: dt.time
    # Weekday (0 = Monday) -> its own window, or None: no calls that day (RI, AL on Sundays).
    by_weekday: dict[int, tuple[dt.time, dt.time] | None]
    effective_from: dt.date | None
    source: str
    confirmed: bool = True

    def window_for(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        """The allowed (start, end) on `day` in the callee's local time; None: no calls."""
        if day.weekday() in self.by_weekday:
            return self.by_weekday[day.weekday()]
        return self.start, self.end


@dataclass(frozen=True)
class CallCap:
    state: str
    max_calls: int
    window: dt.timedelta
    source: str


@dataclass(frozen=True)
class HolidayBan:
    state: str
    channels: frozenset[str]
    source: str
    confirmed: bool = True


@dataclass(frozen=True)
class SmsReplies:
    """The answers to a keyword, in one language."""

    help_text: str
    stop_confirmation: str
    start_confirmation: str
    default_frequency: str


@dataclass(frozen=True)
class SmsRules:
    opt_out: tuple[str, ...]
    opt_out_all: tuple[str, ...]
    opt_out_variants: tuple[str, ...]
    opt_in: tuple[str, ...]
    help: tuple[str, ...]
    help_text: str
    stop_confirmation: str
    start_confirmation: str
    default_frequency: str
    # Replies in other languages, and the keywords that are words of each language.
    replies_by_language: dict[str, SmsReplies] = field(default_factory=dict)
    language_keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def replies(self, lang: str | None) -> SmsReplies:
        """The replies in `lang`; English for any other."""
        return self.replies_by_language.get(lang or "") or SmsReplies(
            self.help_text, self.stop_confirmation, self.start_confirmation, self.default_frequency
        )


@dataclass(frozen=True)
class MinorPurposes:
    """Which consent purposes the minors rows of the jurisdiction rules cover."""

    restricted: frozenset[str]
    by_activity: dict[str, frozenset[str]]
    sensitive_data: frozenset[str]
    source: str


@dataclass(frozen=True)
class ContactRules:
    revocation_business_days: int
    revocation_in_force: dt.date
    revoke_all_delayed_until: dt.date
    email_business_days: int
    email_mechanism_days: int
    unsubscribe_link_valid_days: int
    company_dnc_years: int
    # Whom a company-specific request binds when none is chosen: "seller" (the client whose
    # call it was) or "telemarketer" (the BPO, for every client it calls for).
    company_dnc_default_binds: str
    national_dnc_max_age_days: int
    consent_required: frozenset[tuple[str, str]]  # (purpose, channel or "all")
    solicitation_purposes: frozenset[str]
    calling_hours: tuple[CallingWindow, ...]
    call_caps: tuple[CallCap, ...]
    holiday_bans: tuple[HolidayBan, ...]
    sms: SmsRules
    minors: MinorPurposes
    gpc_honored_display: str  # what a page or answer shows once the signal is honored
    gpc_honored_display_by_language: dict[str, str] = field(default_factory=dict)

    def gpc_display(self, lang: str | None) -> str:
        """The honored-signal words in `lang` (a page in Spanish); English otherwise."""
        return self.gpc_honored_display_by_language.get(lang or "", self.gpc_honored_display)

    def windows_for(self, state: str | None, channel: str, day: dt.date) -> list[CallingWindow]:
        """Every window that applies: the federal one and the state's, if in force that day."""
        found = []
        for window in self.calling_hours:
            if channel not in window.channels:
                continue
            if window.effective_from and day < window.effective_from:
                continue
            if window.state == "*" or window.state == state:
                found.append(window)
        return found

    def holiday_ban(self, state: str, channel: str) -> HolidayBan | None:
        return next(
            (b for b in self.holiday_bans if b.state == state and channel in b.channels), None
        )

    def cap_for(self, state: str | None) -> CallCap | None:
        return next((c for c in self.call_caps if c.state == state), None)


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _words(values: list[Any]) -> tuple[str, ...]:
    return tuple(str(v).upper() for v in values)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _weekdays(raw: dict[str, Any] | None, state: str) -> dict[int, tuple[dt.time, dt.time] | None]:
    found: dict[int, tuple[dt.time, dt.time] | None] = {}
    for name, value in (raw or {}).items():
        if name not in WEEKDAYS:
            raise ValueError(
                f"contact-rules.yaml: calling_hours {state}: days.{name} is not a weekday; "
                f"use one of {', '.join(WEEKDAYS)}"
            )
        if value == "closed":
            found[WEEKDAYS.index(name)] = None
        else:
            start, end = _time(value["start"]), _time(value["end"])
            if end <= start:
                raise ValueError(
                    f"contact-rules.yaml: calling_hours {state}: days.{name} ends before it starts"
                )
            found[WEEKDAYS.index(name)] = (start, end)
    return found


DNC_BINDS = ("seller", "telemarketer")


def _binds(value: Any) -> str:
    if value not in DNC_BINDS:
        raise ValueError(
            f"contact-rules.yaml: company_dnc.binds.default is {value!r}; use one of "
            f"{', '.join(DNC_BINDS)}"
        )
    return str(value)


def parse(raw: dict[str, Any]) -> ContactRules:
    sms = raw["sms"]
    return ContactRules(
        revocation_business_days=int(raw["revocation"]["honor_within_business_days"]),
        revocation_in_force=_date(raw["revocation"]["in_force"]),
        revoke_all_delayed_until=_date(raw["revocation"]["revoke_all_delayed_until"]),
        email_business_days=int(raw["email"]["honor_within_business_days"]),
        email_mechanism_days=int(raw["email"]["opt_out_mechanism_valid_days"]),
        unsubscribe_link_valid_days=int(raw["email"]["unsubscribe_link_valid_days"]),
        company_dnc_years=int(raw["company_dnc"]["keep_years"]),
        company_dnc_default_binds=_binds(raw["company_dnc"]["binds"]["default"]),
        national_dnc_max_age_days=int(raw["national_dnc"]["scrub_at_least_every_days"]),
        consent_required=frozenset(
            (str(r["purpose"]), str(r["channel"])) for r in raw["consent_required"]
        ),
        solicitation_purposes=frozenset(str(p) for p in raw["solicitation_purposes"]),
        calling_hours=tuple(
            CallingWindow(
                state=str(w["state"]),
                channels=frozenset(w["channels"]),
                start=_time(w["start"]),
                end=_time(w["end"]),
                by_weekday=_weekdays(w.get("days"), str(w["state"])),
                effective_from=(
                    _date(w["effective_from"]) if w.get("effective_from") is not None else None
                ),
                source=str(w["source"]),
                confirmed=bool(w.get("confirmed", False)),
            )
            for w in raw["calling_hours"]
        ),
        call_caps=tuple(
            CallCap(
                str(c["state"]),
                int(c["max_calls"]),
                dt.timedelta(hours=int(c["window_hours"])),
                str(c["source"]),
            )
            for c in raw["call_caps"]
        ),
        holiday_bans=tuple(
            HolidayBan(
                str(b["state"]),
                frozenset(b["channels"]),
                str(b["source"]),
                bool(b.get("confirmed", False)),
            )
            for b in raw.get("holiday_no_calls", [])
        ),
        sms=SmsRules(
            opt_out=_words(sms["opt_out_keywords"]),
            opt_out_all=_words(sms["opt_out_all_keywords"]),
            opt_out_variants=_words(sms["opt_out_variants"]),
            opt_in=_words(sms["opt_in_keywords"]),
            help=_words(sms["help_keywords"]),
            help_text=str(sms["help_text"]),
            stop_confirmation=str(sms["stop_confirmation"]),
            start_confirmation=str(sms["start_confirmation"]),
            default_frequency=str(sms["default_frequency"]),
            replies_by_language={
                str(lang): SmsReplies(
                    str(r["help_text"]),
                    str(r["stop_confirmation"]),
                    str(r["start_confirmation"]),
                    str(r["default_frequency"]),
                )
                for lang, r in sms.get("replies_by_language", {}).items()
            },
            language_keywords={
                str(lang): _words(r["keywords"])
                for lang, r in sms.get("replies_by_language", {}).items()
            },
        ),
        gpc_honored_display=str(raw["gpc"]["honored_display"]),
        gpc_honored_display_by_language={
            str(k): str(v) for k, v in raw["gpc"].get("honored_display_by_language", {}).items()
        },
        minors=MinorPurposes(
            restricted=frozenset(str(p) for p in raw["minors"]["restricted_purposes"]),
            by_activity={
                str(activity): frozenset(str(p) for p in purposes)
                for activity, purposes in raw["minors"]["activity_purposes"].items()
            },
            sensitive_data=frozenset(str(p) for p in raw["minors"]["sensitive_data_purposes"]),
            source=str(raw["minors"]["source"]),
        ),
    )


@cache
def _shipped() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as handle:
        raw: dict[str, Any] = yaml.safe_load(handle)
    return raw


@cache
def _shipped_rules() -> ContactRules:
    return parse(_shipped())


def load(override_path: Path | None = None) -> ContactRules:
    """The shipped contact rules, with the `contact_rules` section of `override_path` merged
    over them. `ValueError` naming the file and the problem if the section does not fit
    (`DeclarationError` for YAML that does not parse, `OSError` for a file that cannot be read)."""
    if override_path is None:
        return _shipped_rules()
    extra, _lines = read_override(override_path)
    section = extra.get(CONTACT_RULES_SECTION)
    if section is None:
        return _shipped_rules()
    where = f"{override_path}: {CONTACT_RULES_SECTION}"
    if not isinstance(section, dict):
        raise ValueError(f"{where}: write a mapping of the keys of contact-rules.yaml")
    unknown = sorted(set(section) - set(_shipped()))
    if unknown:
        known = ", ".join(sorted(_shipped()))
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; use one of {known}")
    try:
        return parse(merge_over(_shipped(), section))
    except KeyError as exc:
        raise ValueError(f"{where}: a row lacks the required key '{exc.args[0]}'") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{where}: {exc}") from None
