"""Do-not-call lists: company-specific requests (kept 5 years) and the national registry.

National registry files list 10-digit numbers, one per line, either `4155550100` or the
registry's `415,5550100` (area code, number). A file with any bad line is rejected whole, with
the line numbers, and nothing is written. The registry's own date is kept so every decision
batch can warn when the scrub data is older than the rule allows (31 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.consent.identity import IdentityRef, Keys, identify
from honorbound.consent.models import CompanyDnc, NationalDncImport, NationalDncNumber, Source
from honorbound.consent.rules import ContactRules
from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError

MAX_REPORTED_LINES = 20
Numbers = npt.NDArray[np.int64]
_CHUNK = 50_000


class ImportMode(StrEnum):
    FULL = "full"  # the file is the whole registry: replaces what was there
    ADD = "add"  # a change file: numbers added
    DELETE = "delete"  # a change file: numbers removed


class DncFileError(HonorboundError, ValueError):
    """Bad lines in a registry file; `lines` holds (line number, reason) for the first few."""

    status = 422
    title = "Bad lines in the registry file"

    def __init__(self, lines: list[tuple[int, str]], total: int) -> None:
        shown = "; ".join(f"line {n}: {reason}" for n, reason in lines)
        more = f" (and {total - len(lines)} more)" if total > len(lines) else ""
        super().__init__(f"{total} bad line(s), nothing imported: {shown}{more}")
        self.lines = lines
        self.total = total

    def errors(self) -> list[dict[str, str]]:
        return [{"field": f"line {n}", "message": reason} for n, reason in self.lines]


def parse_line(text: str) -> int:
    """One registry line as an integer 10-digit number. Raises ValueError with the reason."""
    cleaned = text.strip().replace(",", "").replace("-", "").replace(" ", "")
    if not cleaned.isdigit() or not cleaned.isascii():
        raise ValueError("expected 10 digits, e.g. 4155550100 or 415,5550100")
    if len(cleaned) == 11 and cleaned[0] == "1":
        cleaned = cleaned[1:]
    if len(cleaned) != 10:
        raise ValueError(f"expected 10 digits, found {len(cleaned)}")
    if cleaned[0] in "01" or cleaned[3] in "01":
        raise ValueError("area code and exchange cannot start with 0 or 1")
    return int(cleaned)


def parse(lines: Iterable[str]) -> Numbers:
    """Every number of a file, sorted and unique. Raises DncFileError listing bad lines."""
    numbers: list[int] = []
    bad: list[tuple[int, str]] = []
    total_bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head = line.strip()
        if head.isdigit() and len(head) == 10 and head[0] not in "01" and head[3] not in "01":
            numbers.append(int(head))  # the common case, without the general parser
            continue
        try:
            numbers.append(parse_line(line))
        except ValueError as exc:
            total_bad += 1
            if len(bad) < MAX_REPORTED_LINES:
                bad.append((number, str(exc)))
    if total_bad:
        raise DncFileError(bad, total_bad)
    return np.unique(np.asarray(numbers, dtype=np.int64))


@dataclass(frozen=True)
class ImportResult:
    import_id: int
    numbers: int
    registry_date: dt.date
    warnings: list[str]


def registry_warnings(rules: ContactRules, registry_date: dt.date, today: dt.date) -> list[str]:
    age = (today - registry_date).days
    if age > rules.national_dnc_max_age_days:
        return [
            f"the national registry data is {age} days old; the rule is to scrub against data "
            f"at most {rules.national_dnc_max_age_days} days old: download a fresh file"
        ]
    return []


def _bulk_insert(session: Session, organization_id: int, numbers: Numbers) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.dbapi_connection
        sql = "COPY consent_national_dnc (organization_id, number) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            prefix = f"{organization_id}\t"
            for start in range(0, len(numbers), _CHUNK):
                chunk = numbers[start : start + _CHUNK].tolist()
                copy.write("".join(f"{prefix}{n}\n" for n in chunk))
        return
    if connection.dialect.name == "sqlite":
        # Plain executemany with tuples: the ORM's per-row dicts triple the time for 10M rows.
        sql = "INSERT INTO consent_national_dnc (organization_id, number) VALUES (?, ?)"
        for start in range(0, len(numbers), _CHUNK):
            chunk = numbers[start : start + _CHUNK].tolist()
            connection.exec_driver_sql(sql, [(organization_id, n) for n in chunk])
        return
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK].tolist()
        session.execute(
            insert(NationalDncNumber),
            [{"organization_id": organization_id, "number": n} for n in chunk],
        )


# An import that would take more than this share of the numbers now held off the list must be
# confirmed (`confirm_removal`): an empty or truncated "full" file would otherwise make the
# whole registry callable in one call. An operational safeguard, not a legal rule.
MAX_UNCONFIRMED_REMOVAL = 0.10


class RemovalNeedsConfirmation(HonorboundError, ValueError):
    """The import would remove more numbers than `MAX_UNCONFIRMED_REMOVAL` allows unconfirmed."""

    status = 409
    title = "Removal needs confirmation"

    def __init__(self, removed: int, held: int) -> None:
        super().__init__(
            f"this import would remove {removed:,} of the {held:,} numbers on the national "
            f"do-not-call list ({removed / held:.0%}; more than "
            f"{MAX_UNCONFIRMED_REMOVAL:.0%} needs confirmation): check the file, then send it "
            "again confirmed (API: confirm_removal=true; CLI: --confirm-removal)"
        )
        self.removed = removed
        self.held = held

    def errors(self) -> list[dict[str, str]]:
        return [{"field": "confirm_removal", "message": str(self)}]

    def extra(self) -> dict[str, Any]:
        return {"removed": self.removed, "held": self.held}


def _would_remove(
    session: Session, table: Table, organization_id: int, numbers: Numbers, mode: ImportMode
) -> tuple[int, int]:
    """(numbers the import would remove, numbers held now)."""
    held = int(
        session.scalar(
            select(func.count())
            .select_from(table)
            .where(table.c.organization_id == organization_id)
        )
        or 0
    )
    if mode is ImportMode.ADD or held == 0:
        return 0, held
    present = 0
    for start in range(0, len(numbers), 5000):
        chunk = numbers[start : start + 5000].tolist()
        present += int(
            session.scalar(
                select(func.count())
                .select_from(table)
                .where(table.c.organization_id == organization_id, table.c.number.in_(chunk))
            )
            or 0
        )
    return (held - present if mode is ImportMode.FULL else present), held


def import_national(
    session: Session,
    organization_id: int,
    numbers: Numbers,
    registry_date: dt.date,
    mode: ImportMode,
    rules: ContactRules,
    actor: Actor,
    today: dt.date | None = None,
    confirm_removal: bool = False,
) -> ImportResult:
    """Import a registry file. A full or delete import that would remove more than
    `MAX_UNCONFIRMED_REMOVAL` of the numbers held raises `RemovalNeedsConfirmation` unless
    `confirm_removal` (nothing is written then). Who may run a full or delete import is the
    adapters' check (`dnc.replace`: admins)."""
    today = today or utcnow().date()
    if registry_date > today:
        raise ValueError("registry_date is in the future")
    table = NationalDncNumber.__table__
    assert isinstance(table, Table)
    removed, held = _would_remove(session, table, organization_id, numbers, mode)
    if not confirm_removal and held and removed > MAX_UNCONFIRMED_REMOVAL * held:
        raise RemovalNeedsConfirmation(removed, held)
    if mode is ImportMode.FULL:
        session.execute(delete(table).where(table.c.organization_id == organization_id))
        _bulk_insert(session, organization_id, numbers)
    elif mode is ImportMode.ADD:
        existing: set[int] = set()
        for start in range(0, len(numbers), 5000):
            chunk = numbers[start : start + 5000].tolist()
            existing.update(
                session.scalars(
                    select(table.c.number).where(
                        table.c.organization_id == organization_id, table.c.number.in_(chunk)
                    )
                )
            )
        fresh = numbers[~np.isin(numbers, np.fromiter(existing, np.int64, len(existing)))]
        _bulk_insert(session, organization_id, fresh)
    else:
        for start in range(0, len(numbers), 5000):
            chunk = numbers[start : start + 5000].tolist()
            session.execute(
                delete(table).where(
                    table.c.organization_id == organization_id, table.c.number.in_(chunk)
                )
            )
    row = NationalDncImport(
        organization_id=organization_id,
        registry_date=registry_date,
        mode=mode.value,
        numbers=len(numbers),
        rejected_lines=0,
    )
    session.add(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "consent.national_dnc_imported",
        "national_dnc_import",
        row.id,
        {
            "mode": mode.value,
            "numbers": len(numbers),
            "registry_date": registry_date.isoformat(),
            "removed": removed,
            "confirmed": confirm_removal,
        },
    )
    return ImportResult(
        row.id, len(numbers), registry_date, registry_warnings(rules, registry_date, today)
    )


def registry_status(
    session: Session, organization_id: int, rules: ContactRules, today: dt.date | None = None
) -> tuple[NationalDncImport | None, list[str]]:
    latest = session.scalar(
        select(NationalDncImport)
        .where(NationalDncImport.organization_id == organization_id)
        .order_by(NationalDncImport.id.desc())
        .limit(1)
    )
    if latest is None:
        return None, ["no national registry data imported: national DNC is not being checked"]
    return latest, registry_warnings(rules, latest.registry_date, today or utcnow().date())


class DncListError(HonorboundError, ValueError):
    """A company-specific request, paging cursor or removal reason that cannot be used;
    `field` names it."""

    status = 422
    title = "Invalid do-not-call request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": str(self)}]


def add_company_request(
    session: Session,
    organization_id: int,
    identity: IdentityRef,
    rules: ContactRules,
    actor: Actor,
    source: str = Source.AGENT_VERBAL.value,
    requested_at: dt.datetime | None = None,
) -> CompanyDnc:
    """Record a company-specific do-not-call request; it lapses after the rule's years."""
    now = utcnow()
    requested = requested_at or now
    if requested.tzinfo is None:
        raise DncListError("requested_at", "requested_at needs a time zone")
    if requested > now + dt.timedelta(minutes=5):
        raise DncListError("requested_at", "requested_at is in the future")
    try:
        Source(source)
    except ValueError:
        raise DncListError("source", f"{source[:32]!r} is not a valid Source") from None
    try:
        expires = requested.replace(year=requested.year + rules.company_dnc_years)
    except ValueError:  # 29 February
        expires = requested.replace(year=requested.year + rules.company_dnc_years, day=28)
    row = CompanyDnc(
        organization_id=organization_id,
        identity_index=identity.index,
        match_key=identity.match_key,
        source=source,
        requested_at=requested,
        recorded_at=now,
        expires_at=expires,
        actor_id=actor.id,
    )
    session.add(row)
    session.flush()
    append(
        session,
        organization_id,
        actor,
        "consent.company_dnc_added",
        "company_dnc",
        row.id,
        {"source": source, "expires": expires.date().isoformat()},
    )
    return row


class Binds(StrEnum):
    """Whom a company-specific request binds (contact-rules.yaml `company_dnc.binds`)."""

    SELLER = "seller"  # the organization whose call it was: its own list
    TELEMARKETER = "telemarketer"  # the BPO operating it: the BPO's list, every client


class NotOperatedByBpo(HonorboundError, ValueError):
    """A telemarketer-wide request for an organization no BPO operates."""

    status = 422
    title = "Invalid do-not-call request"

    def errors(self) -> list[dict[str, str]]:
        return [{"field": "binds", "message": str(self)}]


def operator_of(session: Session, organization_id: int) -> int | None:
    """The BPO that operates (calls for) this organization, if any."""
    return session.scalar(
        select(Organization.operated_by_id).where(Organization.id == organization_id)
    )


def add_telemarketer_request(
    session: Session,
    keys: Keys,
    organization_id: int,
    value: str,
    kind: str | None,
    rules: ContactRules,
    actor: Actor,
    source: str = Source.AGENT_VERBAL.value,
    requested_at: dt.datetime | None = None,
) -> tuple[CompanyDnc, int]:
    """Record a request addressed to the call center itself, taken on a call made for
    `organization_id`: it goes on the operating BPO's own list (keyed with the BPO's keys, in
    the BPO's audit chain), which every decision for any of the BPO's clients reads. The
    client's chain records that one was taken on its call, without the identity.
    Returns (the BPO's row, the BPO's id). Raises NotOperatedByBpo, InvalidIdentity."""
    bpo_id = operator_of(session, organization_id)
    if bpo_id is None:
        raise NotOperatedByBpo(
            "this organization is not operated by a BPO: record the request for the "
            "organization itself (binds: seller)"
        )
    ref = identify(keys, bpo_id, value, kind)
    row = add_company_request(session, bpo_id, ref, rules, actor, source, requested_at)
    append(
        session,
        organization_id,
        actor,
        "consent.telemarketer_dnc_taken",
        "company_dnc",
        row.id,
        {"bpo": bpo_id, "source": source},
    )
    return row, bpo_id


# -- the list itself: paged, and a request taken back ------------------------------------------
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class RemovalReason(StrEnum):
    """Why a company-specific request is taken off a list. A fixed choice, never free text:
    the audit entry holds it, and a person's words there could name them."""

    RECORDED_IN_ERROR = "recorded_in_error"  # the agent recorded the wrong number or call
    DUPLICATE = "duplicate"  # the same request recorded twice
    # The TSR lets a seller call again on the person's express agreement, in writing
    # (16 CFR 310.4(b)(1)(iii)(B)(1)); the agreement is kept where the business keeps it.
    WRITTEN_CONSENT = "written_consent"


class UnknownDncRequest(HonorboundError, LookupError):
    """No such request on this organization's list (another organization's looks the same)."""

    status = 404
    title = "Not found"


@dataclass(frozen=True)
class ListPage:
    rows: list[CompanyDnc]  # newest first
    next_before: int | None  # pass as `before` for the next page; None: the last page


def company_requests(
    session: Session,
    organization_ids: list[int],
    before: int | None = None,
    limit: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> ListPage:
    """The unexpired company-specific requests on these organizations' lists, newest first,
    one keyset page (ids below `before`). Rows hold no number: only its keyed blind index, so
    a list shows when and how each request was taken, never whose number it is."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise DncListError("limit", f"limit must be 1-{MAX_PAGE_SIZE}")
    if before is not None and not 1 <= before <= 2**63 - 1:
        raise DncListError("before", "before must be a request id from the previous page")
    query = select(CompanyDnc).where(
        CompanyDnc.organization_id.in_(organization_ids),
        CompanyDnc.expires_at > (now or utcnow()),
    )
    if before is not None:
        query = query.where(CompanyDnc.id < before)
    rows = list(session.scalars(query.order_by(CompanyDnc.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    return ListPage(rows[:limit], rows[limit - 1].id if more else None)


def remove_company_request(
    session: Session, organization_id: int, request_id: int, reason: str, actor: Actor
) -> CompanyDnc:
    """Take a request off the organization's own list (the number becomes callable again for
    every decision that read it: a BPO's list, for all its clients). The row is deleted; the
    audit chain keeps when it was taken, from what source, and why it was removed."""
    row = session.get(CompanyDnc, request_id) if 1 <= request_id <= 2**63 - 1 else None
    if row is None or row.organization_id != organization_id:
        raise UnknownDncRequest(f"no do-not-call request {request_id} on this list")
    try:
        why = RemovalReason(reason)
    except ValueError:
        choices = ", ".join(r.value for r in RemovalReason)
        raise DncListError("reason", f"reason must be one of: {choices}") from None
    details = {
        "source": row.source,
        "requested": row.requested_at.date().isoformat(),
        "reason": why.value,
    }
    session.delete(row)
    session.flush()
    append(
        session, organization_id, actor, "consent.company_dnc_removed", "company_dnc",
        request_id, details,
    )  # fmt: skip
    return row


def take_request(
    session: Session,
    keys: Keys,
    organization_id: int,
    value: str,
    kind: str | None,
    rules: ContactRules,
    actor: Actor,
    binds: Binds | None = None,
    source: str = Source.AGENT_VERBAL.value,
    requested_at: dt.datetime | None = None,
) -> tuple[CompanyDnc, Binds]:
    """A company-specific request taken on a call made for `organization_id`, on the list
    `binds` names (default: contact-rules.yaml `company_dnc.binds.default`): the
    organization's own (seller) or its BPO's (telemarketer). The one entry point of the API,
    the CLI and the console. Raises InvalidIdentity, NotOperatedByBpo, DncListError."""
    chosen = binds or Binds(rules.company_dnc_default_binds)
    ref = identify(keys, organization_id, value, kind)  # checks the identity for either list
    if chosen is Binds.TELEMARKETER:
        row, _ = add_telemarketer_request(
            session, keys, organization_id, value, kind, rules, actor, source, requested_at
        )
    else:
        row = add_company_request(session, organization_id, ref, rules, actor, source, requested_at)
    return row, chosen
