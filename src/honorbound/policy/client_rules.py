"""Per-client jurisdiction rules: a client's counsel may take a stricter position than the
installation's rules (`HONORBOUND_RULES_FILE` over the shipped rules), e.g. answer requests in
20 days where the law gives 45, or tell the client of a breach within 72 hours.

The override is a rules file in the format of `HONORBOUND_RULES_FILE`, read by the same loader
and validated by the same model (`jurisdictions.merged_data`, `validate_rules`), so a bad one
is refused with the same `FILE:LINE: message` sentences. It may set only the deadline families
the runtime honours per client (`HONOURED`): the answer, extension and appeal periods of a state
(`states.<XX>.respond`, `extension`, `appeal`), and a state's breach notice to residents and the
processor's notice to its owner (`breach.<XX>.individuals`, `processor_to_owner`). Anything else
is refused, naming the key: it would be silently ignored otherwise.

**Only stricter.** Every period must end no later than the installation's for every start
(`no_later`); a longer one is refused like a calling-hours override outside the federal window.

`RuleBook` hands out the rules of an organization: the installation's, or those merged with
its override, built once per override version (the override's SHA-256: a changed override is a
new entry, so every process sees the change on its next read) and kept in a bounded cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.audit import Actor, append
from honorbound.db.base import Base, utcnow
from honorbound.policy.jurisdictions import (
    Appeal,
    DayKind,
    Days,
    JurisdictionRules,
    NoticeDeadline,
    ProcessorNotice,
    merged_data,
    read_override_text,
    validate_rules,
)
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.yamlsource import LineMap

# An override is a few rows; the installation's whole file may be 1,000,000 characters.
MAX_OVERRIDE_CHARS = 200_000
MAX_NAME = 200
DEFAULT_NAME = "client-rules.yaml"
CACHE_SIZE = 256
log = logging.getLogger(__name__)

# What a client's override may set (everything else stays the installation's rules).
NOTES = ("source", "confirmed", "unconfirmed", "note")
HONOURED: dict[str, tuple[str, ...]] = {
    "states": ("respond", "extension", "appeal", "appeal_note", *NOTES),
    "breach": ("individuals", "processor_to_owner", "checked_against", *NOTES),
}
HONOURED_WORDS = (
    "states.<XX>.respond, extension and appeal, and breach.<XX>.individuals and "
    "processor_to_owner (with their source notes)"
)


class ClientRulesOverride(Base):
    """A client's override of the jurisdiction rules, as given (the YAML text)."""

    __tablename__ = "policy_client_rules"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME))  # the file name problems point into
    source_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))  # the version the runtime caches by
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


# -- only stricter -------------------------------------------------------------------------------
def no_later(client: Days, base: Days) -> bool:
    """`client` ends no later than `base` whatever the start: the same kind compares days; N
    calendar days never run past N business days; business days can run past calendar days
    (weekends, holidays), so that pair is refused."""
    if client.kind is base.kind or (
        client.kind is DayKind.calendar and base.kind is DayKind.business
    ):
        return client.days <= base.days
    return False


def _hours(p: ProcessorNotice) -> Days | float:
    """A processor notice as hours from discovery, or its business days."""
    if p.immediately:
        return 0.0
    if p.within_hours is not None:
        return float(p.within_hours)
    assert p.within is not None
    return p.within if p.within.kind is DayKind.business else p.within.days * 24.0


def _owner_no_later(client: ProcessorNotice, base: ProcessorNotice) -> bool:
    c, b = _hours(client), _hours(base)
    if isinstance(c, float) and isinstance(b, float):
        return c <= b
    if isinstance(c, float) and isinstance(b, Days):
        return c <= b.days * 24.0  # N business days last at least N x 24 hours
    if isinstance(c, Days) and isinstance(b, Days):
        return no_later(c, b)
    return False


def _individuals_no_later(client: NoticeDeadline, base: NoticeDeadline) -> bool:
    if base.days is None:  # "without unreasonable delay": a fixed date only adds a bound
        return True
    if client.days is None or client.kind is None or base.kind is None:
        return False
    if client.from_ is not None and (base.from_ is None or client.from_ > base.from_):
        return False
    return no_later(Days(days=client.days, kind=client.kind), Days(days=base.days, kind=base.kind))


def _appeal_problems(code: str, client: Appeal, base: Appeal) -> list[tuple[str, str]]:
    out = []
    if base.required and not client.required:
        out.append(("required", "the installation's rules give an appeal; keep `required: true`"))
    if base.days is not None and (client.days is None or not no_later(client.days, base.days)):
        out.append(("days", f"{client.days or 'no period'} can end later than {base.days}"))
    if client.extension is not None and (
        base.extension is None or not no_later(client.extension, base.extension)
    ):
        have = base.extension or "no extension"
        out.append(("extension", f"{client.extension} is more than the installation's {have}"))
    return [(f"states.{code}.appeal.{field}", why) for field, why in out]


def looser(base: JurisdictionRules, merged: JurisdictionRules) -> list[tuple[str, str]]:
    """Every period of `merged` (a client's) that ends later than `base`'s: (path, why)."""
    out: list[tuple[str, str]] = []
    for code, row in merged.states.items():
        law = base.states[code]
        for part in ("respond", "extension"):
            mine, theirs = getattr(row, part), getattr(law, part)
            if not no_later(mine, theirs):
                out.append((f"states.{code}.{part}", f"{mine} can end later than {theirs}"))
        out += _appeal_problems(code, row.appeal, law.appeal)
    for code, b in merged.breach.items():
        law_b = base.breach[code]
        if not _individuals_no_later(b.individuals, law_b.individuals):
            why = f"{_words(b.individuals)} can end later than {_words(law_b.individuals)}"
            out.append((f"breach.{code}.individuals", why))
        p, q = b.processor_to_owner, law_b.processor_to_owner
        if q is not None and (p is None or not _owner_no_later(p, q)):
            why = f"{_words(p)} can end later than {_words(q)}"
            out.append((f"breach.{code}.processor_to_owner", why))
    return out


# -- reading and checking an override --------------------------------------------------------------
def _scope_problems(extra: dict[str, Any], lines: LineMap, base: dict[str, Any]) -> list[Problem]:
    """Keys outside `HONOURED`, and states or breach rows the installation does not have."""
    found: list[Problem] = []
    for key, value in extra.items():
        if key == "schema":
            continue
        if key not in HONOURED:
            found.append(
                lines.problem(
                    (key,),
                    f"`{key}` cannot be overridden per client; a client's override may set "
                    f"{HONOURED_WORDS}; the rest stays the installation's rules",
                )
            )
            continue
        if not isinstance(value, dict):
            found.append(lines.problem((key,), f"`{key}` is a mapping of state codes"))
            continue
        for code, row in value.items():
            if code not in base.get(key, {}):
                found.append(
                    lines.problem((key, code), f"{key}.{code}: no such row in the installation's "
                                  "rules; a client's override changes existing rows only")
                )  # fmt: skip
                continue
            if not isinstance(row, dict):
                continue  # the model names what is wrong with it
            if any(f not in NOTES for f in row) and not isinstance(row.get("source"), str):
                found.append(
                    lines.problem(
                        (key, code),
                        f"{key}.{code}: say where the client's period comes from in `source` "
                        "(the counsel memo or the contract): it is shown with every date it sets",
                    )
                )
            for field in row:
                if field not in HONOURED[key]:
                    found.append(
                        lines.problem(
                            (key, code, field),
                            f"{key}.{code}.{field} cannot be overridden per client; a client's "
                            f"override may set {HONOURED_WORDS}",
                        )
                    )
    return found


def _without(
    installation: tuple[dict[str, Any], LineMap], extra: dict[str, Any]
) -> tuple[dict[str, Any], LineMap]:
    """The installation's data less every period `extra` gives, so that each one the client
    writes replaces the installation's whole (`{within_hours: 72}` replaces `{within: ...}`)
    instead of being merged into it key by key."""
    data = dict(installation[0])
    for family in HONOURED:
        given = extra.get(family)
        if not isinstance(given, dict):
            continue
        rows = dict(data[family])
        for code, row in given.items():
            if isinstance(row, dict):
                rows[code] = _unchecked(
                    {k: v for k, v in rows[code].items() if k not in row or k in NOTES}, row
                )
        data[family] = rows
    return data, installation[1]


def _unchecked(base_row: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A client's periods were not checked against the reference the installation's row names:
    unless the client's row says `confirmed` itself, they are listed in `unconfirmed` (staff
    see "unverified" next to each date they set)."""
    if "confirmed" in row:
        return base_row
    changed = [f for f in row if f not in NOTES and f not in ("appeal_note", "checked_against")]
    doubt = list(base_row.get("unconfirmed") or [])
    return {
        **base_row,
        "confirmed": False,
        "unconfirmed": doubt + [f for f in changed if f not in doubt],
    }


def check_override(
    installation: tuple[dict[str, Any], LineMap], base: JurisdictionRules, text: str, name: str
) -> JurisdictionRules:
    """The rules of a client with `text` (named `name` in problems) merged over the
    installation's; `DeclarationError` with every problem, the loader's or ours."""
    if len(text) > MAX_OVERRIDE_CHARS:
        raise DeclarationError(
            [Problem(name, 1, f"a client's override is at most {MAX_OVERRIDE_CHARS:,} characters")]
        )
    extra, lines = read_override_text(text, name)
    problems = _scope_problems(extra, lines, installation[0])
    if problems:
        raise DeclarationError(problems)
    merged_data_, merged_lines = merged_data(_without(installation, extra), (extra, lines))
    merged = validate_rules(merged_data_, merged_lines)
    wider = looser(base, merged)
    if wider:
        raise DeclarationError(
            [
                merged_lines.problem(
                    tuple(path.split(".")),
                    f"{path}: a client's deadline can only be stricter than the installation's "
                    f"rules: {why}",
                )
                for path, why in wider
            ]
        )
    return merged


def clean_name(name: str | None) -> str:
    value = Path((name or "").strip()).name
    if not value:
        return DEFAULT_NAME
    if len(value) > MAX_NAME or not value.isprintable():
        raise DeclarationError(
            [Problem(DEFAULT_NAME, 1, f"the file name must be printable, at most {MAX_NAME} long")]
        )
    return value


# -- the rules of each organization ----------------------------------------------------------------
class RuleBook:
    """The rules of an organization: the installation's, or with the organization's override
    merged in, built once per override version (`sha256`) and cached (LRU, `CACHE_SIZE`)."""

    def __init__(
        self,
        installation: JurisdictionRules,
        installation_data: Callable[[], tuple[dict[str, Any], LineMap]],
    ) -> None:
        """`installation_data`: the runtime's reader of the same files `installation` came
        from, unvalidated (`jurisdictions.rules_data`), called once, on first use."""
        self.installation = installation
        self._read = installation_data
        self._data: tuple[dict[str, Any], LineMap] | None = None
        self._cache: OrderedDict[str, JurisdictionRules] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # how many merged rules objects were built (tests, benchmarks)

    def installation_data(self) -> tuple[dict[str, Any], LineMap]:
        """The installation's merged data (shipped + `HONORBOUND_RULES_FILE`), read once."""
        if self._data is None:
            self._data = self._read()
        return self._data

    def check(self, text: str, name: str) -> JurisdictionRules:
        return check_override(self.installation_data(), self.installation, text, name)

    def of(self, session: Session, organization_id: int) -> JurisdictionRules:
        """The rules of `organization_id` (one primary-key read per call)."""
        digest = session.scalar(
            select(ClientRulesOverride.sha256).where(
                ClientRulesOverride.organization_id == organization_id
            )
        )
        if digest is None:
            return self.installation
        with self._lock:
            found = self._cache.get(digest)
            if found is not None:
                self._cache.move_to_end(digest)
                return found
        row = session.get(ClientRulesOverride, organization_id)
        assert row is not None
        built = self.built(row)
        with self._lock:
            self.builds += 1
            self._cache[digest] = built
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return built

    def built(self, row: ClientRulesOverride) -> JurisdictionRules:
        """The merged rules of a stored override; the installation's when it no longer passes
        (the installation's rules changed since it was stored), said in the log."""
        try:
            return self.check(row.source_text, row.name)
        except DeclarationError as exc:
            log.warning(
                "organization %s: its rules override no longer passes (%s); the installation's "
                "rules apply until it is set again",
                row.organization_id,
                exc.problems[0],
            )
            return self.installation

    def in_force(self, row: ClientRulesOverride) -> str | None:
        """None when the stored override applies, else the first problem that stops it."""
        try:
            self.check(row.source_text, row.name)
        except DeclarationError as exc:
            return str(exc.problems[0])
        return None


def rules_of(
    source: JurisdictionRules | RuleBook, session: Session, organization_id: int
) -> JurisdictionRules:
    """The organization's rules from a book, or `source` itself when it is one fixed set (a
    tool or test that passes rules directly)."""
    if isinstance(source, RuleBook):
        return source.of(session, organization_id)
    return source


# -- writes (each one audit entry on the client's chain) ------------------------------------------
def set_override(
    session: Session,
    book: RuleBook,
    organization_id: int,
    text: str,
    name: str | None,
    actor: Actor,
) -> ClientRulesOverride:
    """Check `text` (refused whole with every problem, nothing stored) and store it."""
    file_name = clean_name(name)
    book.check(text, file_name)
    row = session.get(ClientRulesOverride, organization_id)
    if row is None:
        row = ClientRulesOverride(organization_id=organization_id)
        session.add(row)
    row.name, row.source_text = file_name, text
    row.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row.updated_at, row.updated_by = utcnow(), actor.id
    session.flush()
    append(
        session, organization_id, actor, "policy.client_rules_set", "client_rules",
        organization_id, {"name": file_name, "sha256": row.sha256, "paths": paths_of(book, text)},
    )  # fmt: skip
    return row


def clear_override(session: Session, organization_id: int, actor: Actor) -> bool:
    row = session.get(ClientRulesOverride, organization_id)
    if row is None:
        return False
    digest = row.sha256
    session.delete(row)
    session.flush()
    append(
        session, organization_id, actor, "policy.client_rules_cleared", "client_rules",
        organization_id, {"sha256": digest},
    )  # fmt: skip
    return True


def override_of(session: Session, organization_id: int) -> ClientRulesOverride | None:
    return session.get(ClientRulesOverride, organization_id)


def paths_of(book: RuleBook, text: str) -> list[str]:
    """The rows an (already checked) override sets, as `states.VA.respond` (for the audit
    entry and the API's answer)."""
    extra, _ = read_override_text(text, DEFAULT_NAME)
    out: list[str] = []
    for family in HONOURED:
        for code, row in (extra.get(family) or {}).items():
            out += [f"{family}.{code}.{field}" for field in row if field not in NOTES]
    return sorted(out)


def periods(rules: JurisdictionRules, paths: Sequence[str]) -> dict[str, str]:
    """The value in words of each path (`states.VA.respond` -> `20 calendar days`)."""
    out: dict[str, str] = {}
    for path in paths:
        family, code, field = path.split(".", 2)
        row: Any = rules.states[code] if family == "states" else rules.breach[code]
        out[path] = _words(getattr(row, field))
    return out


def _words(value: Any) -> str:
    if isinstance(value, Days):
        return str(value)
    if isinstance(value, Appeal):
        if not value.required:
            return "no appeal"
        extension = f", extension {value.extension}" if value.extension else ""
        return f"appeal within {value.days or 'the default period'}{extension}"
    if isinstance(value, ProcessorNotice):
        if value.immediately:
            return "immediately"
        return f"{value.within_hours} hours" if value.within_hours else str(value.within)
    if isinstance(value, NoticeDeadline):
        if value.days is None or value.kind is None:
            return "without unreasonable delay"
        return f"{value.days} {value.kind.value} days"
    return str(value)
