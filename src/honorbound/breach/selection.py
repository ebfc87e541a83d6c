"""Who an incident affected, found from the vault's clear columns only.

Nothing is decrypted to select people or to count them by state: categories, sources (the
system a value came from), times, interaction channels, disclosure recipients and the state of
residence are all clear columns kept for exactly this kind of governance query. The selection
runs as one `INSERT ... SELECT` in the database, so a million subjects never pass through
Python. Each dimension given narrows the set (they are combined with AND); within one
dimension any value matches (OR).

The time window means "the data was there during the incident": a record collected before the
window ended, an interaction or a disclosure that took place inside the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.breach import contacts
from honorbound.breach.connected import FilesReading, SystemSearch, Unknown, search_connected
from honorbound.breach.errors import BreachInputError, SelectionEmpty
from honorbound.breach.incidents import MAX_NAME, OBJECT, check_text, get_incident, parse_time
from honorbound.breach.models import AffectedPerson, Incident
from honorbound.db.base import utcnow
from honorbound.disclosures.models import Disclosure, DisclosureSubject
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Channel, Interaction, Record, Subject, SubjectStatus

UNKNOWN_STATE = ""
MAX_VALUES = 200
# Reading files systems whole (`read_files`): the default caps and the most a selection may set.
# Memory grows with the distinct people found (bench/breach.py --files-mb, docs/breach.md).
FILE_BYTES = 8 * 1024 * 1024
SYSTEM_BYTES = 16 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_SYSTEM_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Criteria:
    categories: list[str] = field(default_factory=list)  # category prefixes
    systems: list[str] = field(default_factory=list)  # the records' `source`
    channels: list[str] = field(default_factory=list)  # interaction channels
    recipients: list[str] = field(default_factory=list)  # disclosure recipient ids
    # Connected systems (honorbound.systems keys) to search for people holding `categories`.
    connected_systems: list[str] = field(default_factory=list)
    window_from: dt.datetime | None = None
    window_to: dt.datetime | None = None
    # Opt-in: read the connected files systems whole, within these caps (bytes).
    read_files: bool = False
    file_cap_bytes: int | None = None
    system_cap_bytes: int | None = None
    # Opt-in: keep the contact value (sealed, for this incident) of people found in a connected
    # system whom the vault does not know, so that they are notified too.
    notify_unknown: bool = False

    def reading(self) -> FilesReading | None:
        if not self.read_files:
            return None
        return FilesReading(
            self.system_cap_bytes or SYSTEM_BYTES, self.file_cap_bytes or FILE_BYTES
        )

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("window_from", "window_to"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out


def criteria(values: dict[str, Any]) -> Criteria:
    """Criteria from plain values (API body, CLI options), each checked with a sentence."""
    unknown = sorted(set(values) - set(Criteria.__dataclass_fields__))
    if unknown:
        raise BreachInputError(unknown[0], "is not a selection criterion")
    lists: dict[str, list[str]] = {}
    for name in ("categories", "systems", "channels", "recipients", "connected_systems"):
        raw = values.get(name) or []
        if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
            raise BreachInputError(name, "is a list of names")
        if len(raw) > MAX_VALUES:
            raise BreachInputError(name, f"has more than {MAX_VALUES} values")
        names = [check_text(name, v, MAX_NAME) for v in raw]
        lists[name] = sorted({v for v in names if v})
    known = {c.value for c in Channel}
    bad = [c for c in lists["channels"] if c not in known]
    if bad:
        raise BreachInputError("channels", f"{bad[0]!r} is not one of {', '.join(sorted(known))}")
    times = {name: parse_time(name, values.get(name)) for name in ("window_from", "window_to")}
    start, end = times["window_from"], times["window_to"]
    if start is not None and end is not None and end < start:
        raise BreachInputError("window_to", "is before window_from")
    flags = {}
    for name in ("read_files", "notify_unknown"):
        value = values.get(name, False)
        if not isinstance(value, bool):
            raise BreachInputError(name, "is true or false")
        flags[name] = value
    caps: dict[str, int | None] = {}
    for name, most in (("file_cap_bytes", MAX_FILE_BYTES), ("system_cap_bytes", MAX_SYSTEM_BYTES)):
        value = values.get(name)
        if value is None:
            caps[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise BreachInputError(name, "is a whole number of bytes")
        if value <= 0:
            raise BreachInputError(name, f"must be at least 1 byte (got {value})")
        if value > most:
            raise BreachInputError(name, f"is more than the most allowed, {most} bytes")
        if not flags["read_files"]:
            raise BreachInputError(name, "applies only with read_files: true")
        caps[name] = value
    if flags["read_files"] and not lists["connected_systems"]:
        raise BreachInputError("read_files", "needs connected_systems (the files systems to read)")
    if flags["notify_unknown"] and not lists["connected_systems"]:
        raise BreachInputError("notify_unknown", "needs connected_systems to find people in")
    found = Criteria(
        lists["categories"], lists["systems"], lists["channels"], lists["recipients"],
        lists["connected_systems"], times["window_from"], times["window_to"],
        flags["read_files"], caps["file_cap_bytes"], caps["system_cap_bytes"],
        flags["notify_unknown"],
    )  # fmt: skip
    if not (found.categories or found.systems or found.channels or found.recipients
            or found.connected_systems):  # fmt: skip
        raise BreachInputError(
            "selection",
            "names none of categories, systems, channels, recipients or connected_systems",
        )
    return found


def _category_match(column: Any, prefixes: list[str], dialect: str) -> ColumnElement[bool]:
    """A prefix covers itself and its subcategories (`user.contact` covers `user.contact.email`,
    not `user.contactless`). SQLite compares text byte by byte, so a range keeps the
    (org, category) index usable ("/" is the character after "."); elsewhere a collation may
    ignore punctuation, so the test is a LIKE with `_` and `%` escaped."""
    if dialect == "sqlite":
        return or_(*(or_(column == p, and_(column > p + ".", column < p + "/")) for p in prefixes))
    return or_(*(or_(column == p, column.startswith(p + ".", autoescape=True)) for p in prefixes))


def _within(column: Any, start: dt.datetime | None, end: dt.datetime | None) -> list[Any]:
    out = []
    if start is not None:
        out.append(column >= start)
    if end is not None:
        out.append(column <= end)
    return out


def matching_subjects(
    organization_id: int, c: Criteria, dialect: str = "sqlite", wide: bool = False
) -> Any:
    """The SELECT of (subject id, state) the criteria match, not yet run.

    One dimension drives (`id IN (...)`, a list the database builds once); the others are
    checked per candidate through the subject-id indexes (`EXISTS`). Events (disclosures,
    interactions in a window) usually name far fewer people than held records, so they drive
    when given: a million-row list of record holders is then never built. `wide`: the records
    alone match most of the organization's people; the subjects are then read in id order and
    each is checked (`EXISTS`), which is cheaper than building and sorting the list of record
    holders (measured by bench/breach.py: about half the time at 1M subjects)."""
    dims = _dimensions(organization_id, c, dialect)
    where: list[Any] = [
        Subject.organization_id == organization_id,
        Subject.status != SubjectStatus.ERASED.value,
    ]
    for i, (column, query, conditions) in enumerate(dims):
        if i == 0 and not wide:
            where.append(Subject.id.in_(query.where(*conditions)))
        else:
            where.append(query.where(column == Subject.id, *conditions).exists())
    return select(Subject.id, func.coalesce(func.upper(Subject.jurisdiction), UNKNOWN_STATE)).where(
        *where
    )


def _dimensions(
    organization_id: int, c: Criteria, dialect: str
) -> list[tuple[Any, Any, list[Any]]]:
    dims: list[tuple[Any, Any, list[Any]]] = []  # (table's subject column, select, conditions)
    if c.recipients:
        shared = [
            Disclosure.organization_id == organization_id,
            Disclosure.recipient_id.in_(c.recipients),
            *_within(Disclosure.disclosed_at, c.window_from, c.window_to),
        ]
        dims.append(
            (
                DisclosureSubject.subject_id,
                select(DisclosureSubject.subject_id).join(
                    Disclosure, Disclosure.id == DisclosureSubject.disclosure_id
                ),
                shared,
            )
        )
    if c.channels:
        talked = [
            Interaction.organization_id == organization_id,
            Interaction.channel.in_(c.channels),
            *_within(Interaction.started_at, c.window_from, c.window_to),
        ]
        dims.append((Interaction.subject_id, select(Interaction.subject_id), talked))
    if c.categories or c.systems:
        dims.append(
            (Record.subject_id, select(Record.subject_id), _held(organization_id, c, dialect))
        )
    return dims


def _held(organization_id: int, c: Criteria, dialect: str) -> list[Any]:
    held: list[Any] = [Record.organization_id == organization_id]
    if c.categories:
        held.append(_category_match(Record.category, c.categories, dialect))
    if c.systems:
        held.append(Record.source.in_(c.systems))
    if c.window_to is not None:
        held.append(Record.collected_at <= c.window_to)
    return held


# A records-only selection is "wide" when the records it matches reach this share of the
# organization's subjects (a bounded probe: at most that many index entries are read).
WIDE_SHARE = 0.25


def _is_wide(session: Session, organization_id: int, c: Criteria, dialect: str) -> bool:
    if c.recipients or c.channels:
        return False  # events drive: they name few people
    subjects = (
        session.scalar(select(func.count()).where(Subject.organization_id == organization_id)) or 0
    )
    limit = max(1000, int(subjects * WIDE_SHARE))
    probe = select(Record.id).where(*_held(organization_id, c, dialect)).limit(limit).subquery()
    return int(session.scalar(select(func.count()).select_from(probe)) or 0) >= limit


@dataclass(frozen=True)
class Selection:
    incident_id: int
    total: int
    by_state: dict[str, int]
    connected_search: list[dict[str, Any]] = field(default_factory=list)
    not_in_vault_kept: int = 0  # people not in the vault kept (sealed) to be notified


def counts_by_state(session: Session, incident_id: int) -> dict[str, int]:
    """The stored selection's counts by state (taken once, when it was stored)."""
    incident = session.get(Incident, incident_id)
    return dict(incident.affected_by_state or {}) if incident is not None else {}


def _count_rows(session: Session, incident_id: int) -> dict[str, int]:
    rows = session.execute(
        select(AffectedPerson.state, func.count())
        .where(AffectedPerson.incident_id == incident_id)
        .group_by(AffectedPerson.state)
        .order_by(AffectedPerson.state)
    ).all()
    return {str(state): int(n) for state, n in rows}


def _vault_dimensions(c: Criteria) -> bool:
    """Whether the vault itself is searched: a source, channel or recipient is named, or only
    categories (with connected systems named and no vault source, `categories` only say what
    to look for in those systems)."""
    return bool(
        c.systems or c.channels or c.recipients or (c.categories and not c.connected_systems)
    )


def select_affected(
    session: Session,
    organization_id: int,
    incident_id: int,
    c: Criteria,
    actor: Actor,
    vault_keys: KeyStore | None = None,
    environ: Mapping[str, str] | None = None,
) -> Selection:
    """Replace the incident's affected people with those `c` matches; `SelectionEmpty` when
    nobody matches (nothing is changed then). People found in `c.connected_systems` (matched
    to the vault by their identities' blind index; needs `vault_keys`) are added to those the
    vault's own columns select."""
    incident = get_incident(session, organization_id, incident_id)
    dialect = session.get_bind().dialect.name
    from_systems: set[int] = set()
    searches: list[SystemSearch] = []
    unknown: list[Unknown] = []
    if c.connected_systems:
        if vault_keys is None:
            raise BreachInputError("connected_systems", "need the vault's keys to match people")
        from_systems, searches, unknown = search_connected(
            session, vault_keys, organization_id, c.connected_systems, c.categories, environ,
            c.reading(),
        )  # fmt: skip
    if not c.notify_unknown:
        unknown = []
    wide = _vault_dimensions(c) and _is_wide(session, organization_id, c, dialect)
    inner = matching_subjects(organization_id, c, dialect, wide).subquery()
    # One pass: replace the rows inside a savepoint and undo it when nothing matched (a
    # separate "does anything match?" query would run the whole selection twice).
    with session.begin_nested() as savepoint:
        session.execute(delete(AffectedPerson).where(AffectedPerson.incident_id == incident.id))
        if _vault_dimensions(c):
            session.execute(
                insert(AffectedPerson).from_select(
                    ["incident_id", "subject_id", "state"],
                    select(literal(incident.id), *inner.c),
                )
            )
        _add_subjects(session, organization_id, incident.id, sorted(from_systems))
        # Read back, not the driver's rowcount (psycopg reports -1 for INSERT ... SELECT here).
        anyone = session.scalar(
            select(AffectedPerson.subject_id)
            .where(AffectedPerson.incident_id == incident.id)
            .limit(1)
        )
        if anyone is None and not unknown:
            savepoint.rollback()
            unsearched = [f"{x.system} ({x.reason})" for x in searches if not x.searched]
            raise SelectionEmpty(
                "the selection matches nobody in the vault: check the categories, systems, "
                "channels, recipients and the time window (records count when collected before "
                "the window ends; interactions and disclosures when inside it)"
                + (f"; not searched: {'; '.join(unsearched)}" if unsearched else "")
            )
    kept = 0
    if vault_keys is not None:  # replaces the earlier selection's (those noticed stay)
        kept = contacts.keep(session, vault_keys, organization_id, incident.id, unknown)
    by_state = contacts.merged(
        _count_rows(session, incident.id), contacts.counts_by_state(session, incident.id)
    )
    incident.selection = c.as_json()
    incident.selection["not_in_vault_kept"] = kept
    if searches:
        incident.selection["connected_search"] = [s.as_json() for s in searches]
    incident.selected_at = utcnow()
    incident.affected_by_state = by_state
    total = sum(by_state.values())
    append(
        session,
        organization_id,
        actor,
        "breach.affected_selected",
        OBJECT,
        incident.id,
        {
            "criteria": c.as_json(),
            "total": total,
            "by_state": by_state,
            "connected_search": [
                {k: v for k, v in s.as_json().items() if k not in ("reason", "not_read")}
                for s in searches
            ],
            "not_in_vault_kept": kept,
        },
    )
    return Selection(incident.id, total, by_state, [x.as_json() for x in searches], kept)


def _add_subjects(
    session: Session, organization_id: int, incident_id: int, subject_ids: list[int]
) -> None:
    """Add these vault subjects (not erased, of this organization, not selected yet)."""
    for i in range(0, len(subject_ids), 500):
        chunk = subject_ids[i : i + 500]
        have = AffectedPerson.__table__.alias("have")
        session.execute(
            insert(AffectedPerson).from_select(
                ["incident_id", "subject_id", "state"],
                select(
                    literal(incident_id), Subject.id,
                    func.coalesce(func.upper(Subject.jurisdiction), UNKNOWN_STATE),
                ).where(
                    Subject.id.in_(chunk),
                    Subject.organization_id == organization_id,
                    Subject.status != SubjectStatus.ERASED.value,
                    ~select(have.c.subject_id).where(
                        have.c.incident_id == incident_id, have.c.subject_id == Subject.id
                    ).exists(),
                ),
            )
        )  # fmt: skip


def affected_ids(
    session: Session, incident_id: int, after: int = 0, limit: int = 1000
) -> list[tuple[int, str]]:
    """A page of (subject id, state) of an incident's affected people, in id order."""
    rows = session.execute(
        select(AffectedPerson.subject_id, AffectedPerson.state)
        .where(AffectedPerson.incident_id == incident_id, AffectedPerson.subject_id > after)
        .order_by(AffectedPerson.subject_id)
        .limit(limit)
    ).all()
    return [(int(s), str(st)) for s, st in rows]


def categories_of(
    session: Session, organization_id: int, subject_ids: list[int], prefixes: list[str]
) -> dict[int, set[str]]:
    """Which of the incident's categories each person has in the vault (clear columns only)."""
    if not subject_ids:
        return {}
    where = [Record.organization_id == organization_id, Record.subject_id.in_(subject_ids)]
    if prefixes:
        where.append(_category_match(Record.category, prefixes, session.get_bind().dialect.name))
    out: dict[int, set[str]] = {s: set() for s in subject_ids}
    for subject_id, category in session.execute(
        select(Record.subject_id, Record.category).where(*where).distinct()
    ):
        out[int(subject_id)].add(str(category))
    return out
