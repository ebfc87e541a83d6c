"""The access package: a ZIP with data.json, one CSV per category and summary.html.

Built when the consumer downloads it (never stored), from the vault as it is at that moment.
Values the law forbids disclosing (11 CCR 7024: SSN, government ids, financial account
numbers, health/insurance ids, passwords, security answers, biometrics; the list lives in
us-rules.yaml) appear only as "held" with their category. A request for categories gets the
categories with counts, sources, purposes, recipients and retention, and no values.
Both kinds list who received the person's data (the disclosure ledger's "who received my data":
recipient, categories, purpose, basis, time) in data.json, disclosures.csv and the summary.
The package covers the period on the request (`rights.limits`): with "12_months" (the CA
default, 11 CCR 7024) only records collected, interactions started and disclosures made in the
12 months before the request was received; with "all" everything held. Identities (the
person's email, phone...) are always listed: they are how the person is known now. The period
is stated in data.json ("period") and in summary.html.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.disclosures import subprocessors
from honorbound.disclosures.reports import who_received
from honorbound.policy import store
from honorbound.policy.jurisdictions import AccessRules, JurisdictionRules
from honorbound.policy.schema import Declaration
from honorbound.policy.store import AdoptedPolicy
from honorbound.recordings.callers import caller_indexes
from honorbound.recordings.store import RecordingStore
from honorbound.rights.limits import months_before, period_of
from honorbound.rights.models import RequestType, RightsRequest
from honorbound.systems.requests import SystemPart, package_parts
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity, Interaction, Record, Subject, SubjectStatus
from honorbound.vault.sealing import open_text, text_opener

# Rows per category in summary.html: a browser page of 100,000 rows is unreadable (and took
# most of the package's time); beyond this the page points to the category's CSV.
SUMMARY_ROWS = 1_000


# One record as the package shows it: (value, or None when withheld or not asked for; held;
# source; purposes; collected_at in ISO form; policy_version_id).
Kept = tuple[str | None, bool, str, list[str], str, int | None]


@dataclass
class CategoryOut:
    category: str
    label: str
    purposes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    retention: str = ""
    records: list[Kept] = field(default_factory=list)
    # Each record's object in data.json, rendered as it is read (`_record_line`).
    lines: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def file(self) -> str:
        return f"categories/{_safe_name(self.category)}.csv"

    @property
    def rows(self) -> list[tuple[str, str, str, str, bool]]:
        """The summary's table rows, the first `SUMMARY_ROWS`: (shown value, collected,
        source, purposes, held). Every record is in data.json and the category's CSV."""
        return [
            ("held (not disclosed)" if held else value or "", at, source, ", ".join(p), held)
            for value, held, source, p, at, _ in self.records[:SUMMARY_ROWS]
        ]


@dataclass(frozen=True)
class Package:
    content: bytes
    records: int
    withheld: int
    categories: int


def never_disclose(laws: JurisdictionRules) -> list[tuple[str, str]]:
    return [(i.category, i.label) for i in laws.california.access_never_disclose.items]


def withheld_label(rules: list[tuple[str, str]], category: str) -> str | None:
    for prefix, label in rules:
        if category == prefix or category.startswith(prefix + "."):
            return label
    return None


def _retention(declaration: Declaration | None, category: str, subject_type: str) -> str:
    if declaration is None:
        return ""
    texts = []
    for rule in declaration.retention_rules_for(category, subject_type):
        parts = []
        for trigger in rule.triggers:
            period = f"{trigger.period} " if trigger.period else ""
            parts.append(f"{period}{trigger.trigger.value.replace('_', ' ')}".strip())
        texts.append(rule.description or " or ".join(parts) + " (whichever comes first)")
    return "; ".join(texts)


def _safe_name(category: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "_", category.lower())


def _cell(value: Any) -> Any:
    if value.__class__ is str:
        return value
    if isinstance(value, list):
        return "; ".join(value)
    return "" if value is None else value


def _csv(rows: list[dict[str, Any]], columns: list[str], same: dict[str, Any] | None = None) -> str:
    """CSV of `rows` with `columns`; `same` gives values every row has (not copied per row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    fixed = {k: _cell(v) for k, v in (same or {}).items()}
    read = [c for c in columns if c not in fixed]
    if columns == read + [c for c in columns if c in fixed]:  # the same values last: appended
        tail = [fixed[c] for c in columns if c in fixed]
        writer.writerows([_cell(row.get(c)) for c in read] + tail for row in rows)
    else:
        writer.writerows(
            [fixed[c] if c in fixed else _cell(row.get(c)) for c in columns] for row in rows
        )
    return out.getvalue()


def _records_csv(c: CategoryOut) -> str:
    """A category's CSV: `_RECORD_COLUMNS`, then its recipients and retention on every row,
    each cell as `_cell` writes it (the purposes joined once per distinct list)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*_RECORD_COLUMNS, "recipients", "retention"])
    same = (_cell(c.recipients), c.retention)
    joined: dict[int, str] = {}
    rows = []
    for value, held, source, purposes, collected_at, version in c.records:
        listed = joined.get(id(purposes))
        if listed is None:
            listed = joined[id(purposes)] = "; ".join(purposes)
        cells = ("" if value is None else value, held or "", source, listed, collected_at)
        rows.append((*cells, "" if version is None else version, *same))
    writer.writerows(rows)
    return out.getvalue()


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
# What `_COMPACT.encode` runs for a dict or a list, made once: the encoder builds it anew on
# every call, which on 100,000 records cost more than the encoding.
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_compact_c = (
    _C_ENCODER(
        None, _COMPACT.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )
    if _C_ENCODER is not None
    else None
)


_string = json.encoder.encode_basestring  # a str as `_COMPACT` writes it


class _Lines(list[str]):
    """JSON objects already written on one line each (a category's records): `_document`
    lays them out as it lays out a list of flat objects, without encoding them again."""


def _compact(value: Any) -> str:
    if _compact_c is None or not isinstance(value, dict | list):
        return _COMPACT.encode(value)
    return "".join(_compact_c(value, 0))


def _flat(value: Any) -> bool:
    """A dict or list of scalars (or of lists of scalars): written on one line."""
    for v in value.values() if isinstance(value, dict) else value:
        if isinstance(v, dict) or (isinstance(v, _Lines) and v):
            return False
        if isinstance(v, list):
            for x in v:
                if isinstance(x, dict | list):
                    return False
    return True


def _document(value: Any, indent: str = "") -> str:
    """data.json as people read it: indented by structure, each record on one line.

    (`json.dumps(indent=2)` gives the same data one value per line, but with `indent` set the
    standard library falls back to its pure-Python encoder: 6x slower on 100,000 records.)"""
    inner = indent + "  "
    if isinstance(value, _Lines):
        return (
            "[\n" + ",\n".join(inner + line for line in value) + "\n" + indent + "]"
            if value
            else "[]"
        )
    if isinstance(value, dict) and value and not (indent and _flat(value)):
        body = ",\n".join(f"{inner}{_compact(k)}: {_document(v, inner)}" for k, v in value.items())
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, list) and value and not _flat(value):
        return "[\n" + ",\n".join(inner + _document(v, inner) for v in value) + "\n" + indent + "]"
    return _compact(value)


DISCLOSURE_COLUMNS = [
    "recipient",
    "recipient_type",
    "categories",
    "purpose",
    "basis",
    "disclosed_at",
]

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    resources.files("honorbound.rights").joinpath("templates/summary.html").read_text("utf-8")
)


@dataclass
class _Scope:
    """What a package covers: the request, its subject (None when erased or not found),
    the withheld categories, the period and the declarations the records were collected
    under."""

    request: RightsRequest
    categories_only: bool
    subject: Subject | None
    forbidden: list[tuple[str, str]]
    period: str
    lookback: AccessRules
    since: dt.datetime | None
    current: AdoptedPolicy | None
    declarations: dict[int | None, Declaration | None]

    @property
    def org_id(self) -> int:
        return self.request.organization_id

    @property
    def current_declaration(self) -> Declaration | None:
        return self.declarations[None]


def build_package(
    session: Session,
    keys: KeyStore,
    laws: JurisdictionRules,
    request: RightsRequest,
    organization_name: str,
    recordings_dir: Path | str | None = None,
) -> Package:
    """The access package, in named steps: what it covers (`_scope`), the vault's records,
    identities and interactions (`_gather_vault`), who received the data (`_disclosures`),
    the connected systems' parts, the period's wording, the recordings' transcripts, then
    data.json (`_data_json`) and the ZIP (`_write_zip`)."""
    scope = _scope(session, laws, request)
    vault = _gather_vault(session, keys, scope)
    disclosures = _disclosures(session, scope)
    # What the connected systems (CRM, files, webhooks, manual tasks) held, gathered when the
    # request was carried out (honorbound.systems); values withheld as in the vault.
    parts = package_parts(session, keys, request)
    systems_out = [
        _system_out(p, scope.current_declaration, scope.forbidden, scope.categories_only)
        for p in parts
    ]
    vault.withheld.update(w for out in systems_out for w in out.pop("_withheld"))
    generated = utcnow()
    covers, period_out = _period_out(scope)
    calls = _calls(session, scope, recordings_dir)
    data = _data_json(session, scope, organization_name, generated, period_out, vault, disclosures)
    data.update({"systems": systems_out} if systems_out else {})
    data.update({"recordings": calls} if calls else {})
    content = _write_zip(
        scope, vault, disclosures, parts, systems_out, _document(data),
        summary={
            "organization": organization_name,
            "reference": request.reference,
            "received": request.received_at.strftime("%Y-%m-%d"),
            "generated": generated.strftime("%Y-%m-%d %H:%M UTC"),
            "covers": covers,
        },
    )  # fmt: skip
    return Package(content, vault.count, len(vault.withheld), len(vault.categories))


def _scope(session: Session, laws: JurisdictionRules, request: RightsRequest) -> _Scope:
    org_id = request.organization_id
    subject = session.get(Subject, request.subject_id) if request.subject_id is not None else None
    live = (
        subject is not None
        and subject.organization_id == org_id
        and subject.status != SubjectStatus.ERASED.value
    )
    # Requests taken before the period was recorded got everything held: keep that answer.
    period = period_of(session, request) or "all"
    lookback = laws.california.access_never_disclose
    since = (
        months_before(request.received_at, lookback.lookback_months)
        if period == "12_months"
        else None
    )
    current = store.current(session, org_id)
    return _Scope(
        request=request,
        categories_only=request.type == RequestType.ACCESS_CATEGORIES.value,
        subject=subject if live else None,
        forbidden=never_disclose(laws),
        period=period,
        lookback=lookback,
        since=since,
        current=current,
        declarations={None: current.declaration if current else None},
    )


def _declaration_of(session: Session, scope: _Scope, version_id: int | None) -> Declaration | None:
    """The declaration a record was collected under (cached; the current one when unknown)."""
    declarations = scope.declarations
    if version_id not in declarations:
        adopted = store.get_version(session, scope.org_id, version_id) if version_id else None
        declarations[version_id] = adopted.declaration if adopted else declarations[None]
    return declarations[version_id]


@dataclass
class _Vault:
    """What the vault holds for the subject, opened (values withheld as the law says)."""

    categories: list[CategoryOut] = field(default_factory=list)
    identities: list[dict[str, str]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    withheld: set[str] = field(default_factory=set)
    count: int = 0


def _gather_vault(session: Session, keys: KeyStore, scope: _Scope) -> _Vault:
    vault = _Vault()
    subject = scope.subject
    if subject is None:
        return vault
    dek = keys.data_key(scope.org_id, subject.key_id)
    vault.categories = _records(session, scope, subject, dek, vault)
    if not scope.categories_only:
        vault.identities = _identities(session, scope, subject, dek)
        vault.interactions = _interactions(session, scope, subject, dek)
    return vault


def _records(
    session: Session, scope: _Scope, subject: Subject, dek: bytes, vault: _Vault
) -> list[CategoryOut]:
    """The subject's records by category, sorted by category; counts them and notes the
    withheld labels in `vault`.

    Plain column reads, no ORM objects, no type processing per row: a person with 100,000
    records is one query. `purposes` comes as its stored JSON text, parsed once per distinct
    text (a person's records share a handful of purpose lists); `collected_at` as the driver
    returns it (`_iso`); every value is opened with one cipher (`text_opener`)."""
    record_query = select(
        Record.category,
        Record.source,
        cast(Record.purposes, Text).label("purposes"),
        type_coerce(Record.collected_at, String).label("collected_at"),
        Record.policy_version_id,
        Record.value_sealed,
    ).where(Record.subject_id == subject.id)
    if scope.since is not None:
        record_query = record_query.where(Record.collected_at >= scope.since)
    open_field = text_opener(dek, scope.org_id, subject.key_id)
    by_category: dict[str, CategoryOut] = {}
    # Per category: its withheld label (None: disclosed) and the purpose texts already counted.
    labels: dict[str, str | None] = {}
    seen: set[tuple[str, str]] = set()
    purpose_lists: dict[str, list[str]] = {}
    listed: dict[str, str] = {}  # the same, as data.json writes it
    connection = session.connection()
    rows = connection.execute(record_query.order_by(Record.id).execution_options(yield_per=5000))
    for category, source, stored, collected, version, sealed in rows:
        vault.count += 1
        out = by_category.get(category)
        if out is None:
            declaration = _declaration_of(session, scope, version)
            out = by_category[category] = _category_out(declaration, category, subject.type)
            labels[category] = withheld_label(scope.forbidden, category)
        purposes = purpose_lists.get(stored)
        if purposes is None:
            purposes = purpose_lists[stored] = list(json.loads(stored))
            listed[stored] = _compact(purposes)
        if (category, stored) not in seen:
            seen.add((category, stored))
            out.purposes.extend(p for p in purposes if p not in out.purposes)
        if source not in out.sources:
            out.sources.append(source)
        collected_at = _iso(collected)
        label = labels[category]
        if scope.categories_only:
            out.records.append((None, False, source, purposes, collected_at, version))
            continue
        tail = _record_tail(source, listed[stored], collected_at, version)
        if label is not None:
            vault.withheld.add(label)
            out.records.append((None, True, source, purposes, collected_at, version))
            because = _string(f"11 CCR 7024: {label}")
            out.lines.append(f'{{"held": true, "withheld_because": {because}, {tail}}}')
        else:
            value = open_field(f"record:{category}", sealed)
            out.records.append((value, False, source, purposes, collected_at, version))
            out.lines.append(f'{{"value": {_string(value)}, {tail}}}')
    return sorted(by_category.values(), key=lambda c: c.category)


def _record_tail(source: str, purposes: str, collected_at: str, version: int | None) -> str:
    """What follows the value (or the withholding) in a record's data.json object: the text
    `_compact` writes for the rest of the record's dict, in its key order."""
    return (
        f'"source": {_string(source)}, "purposes": {purposes}, '
        f'"collected_at": {_string(collected_at)}, '
        f'"policy_version_id": {"null" if version is None else int(version)}'
    )


def _iso(value: Any) -> str:
    """`isoformat()` of a stored timestamp as `UTCDateTime` returns it (UTC, with its offset),
    from what the driver returns without type processing. On SQLite the text SQLAlchemy
    stores, `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, rewritten by slicing (without the fraction
    when it is zero, as isoformat writes it); any other form parsed."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            if value.endswith(".000000"):
                return f"{value[:10]}T{value[11:19]}+00:00"
            return f"{value[:10]}T{value[11:]}+00:00"
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a timestamp: {type(value).__name__}")
    utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return utc.isoformat()


def _category_out(declaration: Declaration | None, category: str, subject_type: str) -> CategoryOut:
    """A category as the declaration its first record was collected under describes it."""
    declared = declaration.category(category) if declaration else None
    return CategoryOut(
        category,
        declared.title if declared else category,
        retention=_retention(declaration, category, subject_type),
        recipients=[r.name for r in declaration.recipients_for(category)] if declaration else [],
    )


def _identities(
    session: Session, scope: _Scope, subject: Subject, dek: bytes
) -> list[dict[str, str]]:
    return [
        {
            "kind": identity.kind,
            "value": open_text(
                dek,
                scope.org_id,
                subject.key_id,
                f"identity:{identity.kind}",
                identity.value_sealed,
            ),
        }
        for identity in session.scalars(
            select(Identity).where(Identity.subject_id == subject.id).order_by(Identity.id)
        )
    ]


def _interactions(
    session: Session, scope: _Scope, subject: Subject, dek: bytes
) -> list[dict[str, Any]]:
    interaction_query = select(
        Interaction.channel,
        Interaction.direction,
        Interaction.started_at,
        Interaction.ended_at,
        Interaction.body_sealed,
        Interaction.recording_uri_sealed,
        Interaction.policy_version_id,
    ).where(Interaction.subject_id == subject.id)
    if scope.since is not None:
        interaction_query = interaction_query.where(Interaction.started_at >= scope.since)
    interactions = []
    for row in session.execute(interaction_query.order_by(Interaction.started_at, Interaction.id)):
        text = (
            open_text(dek, scope.org_id, subject.key_id, "interaction:body", row.body_sealed)
            if row.body_sealed
            else None
        )
        interactions.append(
            {
                "channel": row.channel,
                "direction": row.direction,
                "started_at": row.started_at.isoformat(),
                "ended_at": row.ended_at.isoformat() if row.ended_at else None,
                "text": text,
                "recording_held": row.recording_uri_sealed is not None,
                "policy_version_id": row.policy_version_id,
            }
        )
    return interactions


def _disclosures(session: Session, scope: _Scope) -> list[dict[str, Any]]:
    """Who received the subject's data, in the period (the disclosure ledger)."""
    if scope.subject is None:
        return []
    since = scope.since
    return [
        {
            "recipient": r.recipient_name,
            "recipient_type": r.recipient_type,
            "categories": r.categories,
            "purpose": r.purpose,
            "basis": r.basis,
            "disclosed_at": r.disclosed_at.isoformat(),
        }
        for r in who_received(session, scope.org_id, scope.subject.id)
        if since is None or r.disclosed_at >= since
    ]


def _period_out(scope: _Scope) -> tuple[str, dict[str, Any]]:
    """(the sentence saying what the package covers, data.json's "period")."""
    since, received = scope.since, scope.request.received_at
    if since is None:
        covers = "all personal information we hold about you"
    else:
        covers = (
            f"personal information collected in the {scope.lookback.lookback_months} months "
            f"before your request ({since:%Y-%m-%d} to {received:%Y-%m-%d}); ask again "
            f"with the period 'all' for everything we hold ({scope.lookback.source})"
        )
    period_out = {
        "period": scope.period,
        "from": since.isoformat() if since is not None else None,
        "to": received.isoformat() if since is not None else None,
        "covers": covers,
    }
    return covers, period_out


def _calls(
    session: Session, scope: _Scope, recordings_dir: Path | str | None
) -> list[dict[str, Any]]:
    """The person's calls in the recording store, as their redacted transcripts (the store
    keeps no unredacted text; the audio itself stays out of the package)."""
    subject = scope.subject
    if recordings_dir is None or subject is None or scope.categories_only:
        return []
    indexes = caller_indexes(session, scope.org_id, subject.id)
    return _stored_calls(recordings_dir, scope.org_id, subject.id, scope.since, indexes)


def _category_row(c: CategoryOut) -> dict[str, Any]:
    return {
        "category": c.category,
        "label": c.label,
        "count": c.count,
        "purposes": c.purposes,
        "sources": c.sources,
        "recipients": c.recipients,
        "retention": c.retention,
    }


_CATEGORY_COLUMNS = ["category", "label", "count", "purposes", "sources", "recipients", "retention"]
_RECORD_COLUMNS = ["value", "held", "source", "purposes", "collected_at", "policy_version_id"]


def _data_json(
    session: Session,
    scope: _Scope,
    organization_name: str,
    generated: dt.datetime,
    period_out: dict[str, Any],
    vault: _Vault,
    disclosures: list[dict[str, Any]],
) -> dict[str, Any]:
    request, categories_only = scope.request, scope.categories_only
    return {
        "organization": organization_name,
        "request": {
            "reference": request.reference,
            "type": request.type,
            "received_at": request.received_at.isoformat(),
        },
        "generated_at": generated.isoformat(),
        "period": period_out,
        "categories": [
            {**_category_row(c), **({} if categories_only else {"records": _Lines(c.lines)})}
            for c in vault.categories
        ],
        "withheld": sorted(vault.withheld),
        "disclosures": disclosures,
        # The service providers (sub-processors) the organization's processor uses for it.
        "subprocessors": [
            {k: v for k, v in subprocessors.out(s).items() if k != "id"}
            for s in subprocessors.current(session, scope.org_id)
        ],
        **(
            {}
            if categories_only
            else {"identities": vault.identities, "interactions": vault.interactions}
        ),
    }


def _write_zip(
    scope: _Scope,
    vault: _Vault,
    disclosures: list[dict[str, Any]],
    parts: list[SystemPart],
    systems_out: list[dict[str, Any]],
    data_json: str,
    summary: dict[str, str],
) -> bytes:
    categories_only, categories = scope.categories_only, vault.categories
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", data_json)
        if categories_only:
            rows = [_category_row(c) for c in categories]
            archive.writestr("categories.csv", _csv(rows, _CATEGORY_COLUMNS))
        else:
            for c in categories:
                archive.writestr(c.file, _records_csv(c))
            archive.writestr("identities.csv", _csv(vault.identities, ["kind", "value"]))
            archive.writestr(
                "interactions.csv",
                _csv(
                    vault.interactions, ["channel", "direction", "started_at", "ended_at", "text"]
                ),
            )
        archive.writestr("disclosures.csv", _csv(disclosures, DISCLOSURE_COLUMNS))
        _write_systems(archive, parts, systems_out, categories_only)
        archive.writestr(
            "summary.html",
            _TEMPLATE.render(
                **summary,
                categories_only=categories_only,
                categories=categories,
                summary_rows=SUMMARY_ROWS,
                withheld=sorted(vault.withheld),
                identities=vault.identities,
                interactions=vault.interactions,
                disclosures=disclosures,
                systems=systems_out,
            ),
        )
    return buffer.getvalue()


def _stored_calls(
    recordings_dir: Path | str,
    org_id: int,
    subject_id: int,
    since: dt.datetime | None,
    callers: list[str],
) -> list[dict[str, Any]]:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    out = []
    store = RecordingStore.for_organization(recordings_dir, org_id)
    for rid, manifest in store.of_subject(subject_id, callers):
        try:
            at = dt.datetime.fromisoformat(str(manifest.get("ingested_at")))
        except ValueError:
            continue
        if since is not None and at < since:
            continue
        words: list[Any] = []
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            words = store.read_json(rid, "transcript.json")["words"]
        out.append(
            {
                "recording_id": rid,
                "ingested_at": at.isoformat(),
                "duration_s": manifest.get("duration_s"),
                "redacted": manifest.get("findings", {}),
                "transcript": [
                    {"speaker": w.get("speaker"), "start": w.get("start"), "text": w.get("text")}
                    for w in words
                    if isinstance(w, dict)
                ],
            }
        )
    return out


def _system_out(
    part: SystemPart,
    declaration: Declaration | None,
    forbidden: list[tuple[str, str]],
    categories_only: bool,
) -> dict[str, Any]:
    """One connected system in data.json: per collection, per field, its category and the
    category's plain-language name; values (unless only categories were asked for)."""
    withheld: set[str] = set()
    collections = []
    for name, rows in sorted(part.collections.items()):
        cats = part.categories.get(name, {})
        fields = []
        for field_name in sorted({k for r in rows for k in r}):
            keys = cats.get(field_name, ())
            personal = [c for c in keys if c.startswith("user.")]
            label = ", ".join(_category_title(declaration, c) for c in personal)
            held = next((w for c in personal if (w := withheld_label(forbidden, c))), None)
            fields.append(
                {"field": field_name, "categories": list(keys), "label": label, "withheld": held}
            )
        withheld.update(str(f["withheld"]) for f in fields if f["withheld"])
        hidden = {str(f["field"]) for f in fields if f["withheld"]}
        out: dict[str, Any] = {"collection": name, "count": len(rows), "fields": fields}
        if not categories_only:
            out["records"] = [
                {k: ("held" if k in hidden else v) for k, v in r.items()} for r in rows
            ]
        collections.append(out)
    return {
        "system": part.key,
        "name": part.name,
        "collections": collections,
        "evidence": [n for n, _ in part.evidence],
        "_withheld": withheld,
    }


def _category_title(declaration: Declaration | None, key: str) -> str:
    declared = declaration.category(key) if declaration else None
    return declared.title if declared else key


def _write_systems(
    archive: zipfile.ZipFile,
    parts: list[SystemPart],
    systems_out: list[dict[str, Any]],
    categories_only: bool,
) -> None:
    if categories_only:
        return
    for part, out in zip(parts, systems_out, strict=True):
        base = f"systems/{_safe_name(part.key)}"
        for coll in out["collections"]:
            columns = [f["field"] for f in coll["fields"]]
            archive.writestr(
                f"{base}/{_safe_name(coll['collection'])}.csv", _csv(coll["records"], columns)
            )
        for name, data in part.evidence:
            archive.writestr(f"{base}/evidence/{_safe_name(name)}", data)
