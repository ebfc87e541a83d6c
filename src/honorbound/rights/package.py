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
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.disclosures.reports import who_received
from honorbound.policy import store
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.schema import Declaration
from honorbound.recordings.callers import caller_indexes
from honorbound.recordings.store import RecordingStore
from honorbound.rights.limits import months_before, period_of
from honorbound.rights.models import RequestType, RightsRequest
from honorbound.systems.requests import SystemPart, package_parts
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Identity, Interaction, Record, Subject, SubjectStatus
from honorbound.vault.sealing import open_text

# Rows per category in summary.html: a browser page of 100,000 rows is unreadable (and took
# most of the package's time); beyond this the page points to the category's CSV.
SUMMARY_ROWS = 1_000


@dataclass
class CategoryOut:
    category: str
    label: str
    purposes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    retention: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)

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
            (
                "held (not disclosed)" if r.get("held") else r.get("value", ""),
                r["collected_at"],
                r["source"],
                ", ".join(r["purposes"]),
                bool(r.get("held")),
            )
            for r in self.records[:SUMMARY_ROWS]
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
    if isinstance(value, list):
        return "; ".join(value)
    return "" if value is None else value


def _csv(rows: list[dict[str, Any]], columns: list[str], same: dict[str, Any] | None = None) -> str:
    """CSV of `rows` with `columns`; `same` gives values every row has (not copied per row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    fixed = {k: _cell(v) for k, v in (same or {}).items()}
    writer.writerows(
        [fixed[c] if c in fixed else _cell(row.get(c)) for c in columns] for row in rows
    )
    return out.getvalue()


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _flat(value: Any) -> bool:
    """A dict or list of scalars (or of lists of scalars): written on one line."""
    items = value.values() if isinstance(value, dict) else value
    return all(
        not isinstance(v, dict | list) or (isinstance(v, list) and not any(
            isinstance(x, dict | list) for x in v))
        for v in items
    )  # fmt: skip


def _document(value: Any, indent: str = "") -> str:
    """data.json as people read it: indented by structure, each record on one line.

    (`json.dumps(indent=2)` gives the same data one value per line, but with `indent` set the
    standard library falls back to its pure-Python encoder: 6x slower on 100,000 records.)"""
    inner = indent + "  "
    if isinstance(value, dict) and value and not (indent and _flat(value)):
        body = ",\n".join(
            f"{inner}{_COMPACT.encode(k)}: {_document(v, inner)}" for k, v in value.items()
        )
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, list) and value and not _flat(value):
        return "[\n" + ",\n".join(inner + _document(v, inner) for v in value) + "\n" + indent + "]"
    return _COMPACT.encode(value)


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


def build_package(
    session: Session,
    keys: KeyStore,
    laws: JurisdictionRules,
    request: RightsRequest,
    organization_name: str,
    recordings_dir: Path | str | None = None,
) -> Package:
    categories_only = request.type == RequestType.ACCESS_CATEGORIES.value
    org_id = request.organization_id
    subject = session.get(Subject, request.subject_id) if request.subject_id is not None else None
    live = (
        subject is not None
        and subject.organization_id == org_id
        and subject.status != SubjectStatus.ERASED.value
    )
    forbidden = never_disclose(laws)
    # Requests taken before the period was recorded got everything held: keep that answer.
    period = period_of(session, request) or "all"
    lookback = laws.california.access_never_disclose
    since = (
        months_before(request.received_at, lookback.lookback_months)
        if period == "12_months"
        else None
    )
    current = store.current(session, org_id)
    declarations: dict[int | None, Declaration | None] = {
        None: current.declaration if current else None
    }

    def declaration_of(version_id: int | None) -> Declaration | None:
        if version_id not in declarations:
            adopted = store.get_version(session, org_id, version_id) if version_id else None
            declarations[version_id] = adopted.declaration if adopted else declarations[None]
        return declarations[version_id]

    by_category: dict[str, CategoryOut] = {}
    identities: list[dict[str, str]] = []
    interactions: list[dict[str, Any]] = []
    withheld: set[str] = set()
    count = 0
    if live:
        assert subject is not None
        dek = keys.data_key(org_id, subject.key_id)
        # Plain column reads, no ORM objects: a person with 100,000 records is one query.
        record_query = select(
            Record.category,
            Record.source,
            Record.purposes,
            Record.collected_at,
            Record.policy_version_id,
            Record.value_sealed,
        ).where(Record.subject_id == subject.id)
        if since is not None:
            record_query = record_query.where(Record.collected_at >= since)
        labels: dict[str, str | None] = {}
        for record in session.execute(record_query.order_by(Record.id)):
            count += 1
            declaration = declaration_of(record.policy_version_id)
            out = by_category.get(record.category)
            if out is None:
                declared = declaration.category(record.category) if declaration else None
                out = CategoryOut(
                    record.category,
                    declared.title if declared else record.category,
                    retention=_retention(declaration, record.category, subject.type),
                    recipients=[r.name for r in declaration.recipients_for(record.category)]
                    if declaration
                    else [],
                )
                by_category[record.category] = out
            purposes = record.purposes
            for purpose in purposes:
                if purpose not in out.purposes:
                    out.purposes.append(purpose)
            if record.source not in out.sources:
                out.sources.append(record.source)
            if record.category not in labels:
                labels[record.category] = withheld_label(forbidden, record.category)
            label = labels[record.category]
            item: dict[str, Any] = {
                "source": record.source,
                "purposes": list(purposes),
                "collected_at": record.collected_at.isoformat(),
                "policy_version_id": record.policy_version_id,
            }
            if categories_only:
                pass
            elif label is not None:
                withheld.add(label)
                item = {"held": True, "withheld_because": f"11 CCR 7024: {label}", **item}
            else:
                item = {
                    "value": open_text(
                        dek,
                        org_id,
                        subject.key_id,
                        f"record:{record.category}",
                        record.value_sealed,
                    ),
                    **item,
                }
            out.records.append(item)
        if not categories_only:
            for identity in session.scalars(
                select(Identity).where(Identity.subject_id == subject.id).order_by(Identity.id)
            ):
                identities.append(
                    {
                        "kind": identity.kind,
                        "value": open_text(
                            dek,
                            org_id,
                            subject.key_id,
                            f"identity:{identity.kind}",
                            identity.value_sealed,
                        ),
                    }
                )
            interaction_query = select(
                Interaction.channel,
                Interaction.direction,
                Interaction.started_at,
                Interaction.ended_at,
                Interaction.body_sealed,
                Interaction.recording_uri_sealed,
                Interaction.policy_version_id,
            ).where(Interaction.subject_id == subject.id)
            if since is not None:
                interaction_query = interaction_query.where(Interaction.started_at >= since)
            for item_row in session.execute(
                interaction_query.order_by(Interaction.started_at, Interaction.id)
            ):
                interactions.append(
                    {
                        "channel": item_row.channel,
                        "direction": item_row.direction,
                        "started_at": item_row.started_at.isoformat(),
                        "ended_at": item_row.ended_at.isoformat() if item_row.ended_at else None,
                        "text": open_text(
                            dek, org_id, subject.key_id, "interaction:body", item_row.body_sealed
                        )
                        if item_row.body_sealed
                        else None,
                        "recording_held": item_row.recording_uri_sealed is not None,
                        "policy_version_id": item_row.policy_version_id,
                    }
                )
    disclosures = (
        [
            {
                "recipient": r.recipient_name,
                "recipient_type": r.recipient_type,
                "categories": r.categories,
                "purpose": r.purpose,
                "basis": r.basis,
                "disclosed_at": r.disclosed_at.isoformat(),
            }
            for r in who_received(session, org_id, subject.id)
            if since is None or r.disclosed_at >= since
        ]
        if live and subject is not None
        else []
    )
    # What the connected systems (CRM, files, webhooks, manual tasks) held, gathered when the
    # request was carried out (honorbound.systems); values withheld as in the vault.
    parts = package_parts(session, keys, request)
    systems_out = [
        _system_out(p, current.declaration if current else None, forbidden, categories_only)
        for p in parts
    ]
    withheld.update(w for out in systems_out for w in out.pop("_withheld"))
    generated = utcnow()
    categories = sorted(by_category.values(), key=lambda c: c.category)
    if since is None:
        covers = "all personal information we hold about you"
    else:
        covers = (
            f"personal information collected in the {lookback.lookback_months} months before "
            f"your request ({since:%Y-%m-%d} to {request.received_at:%Y-%m-%d}); ask again "
            f"with the period 'all' for everything we hold ({lookback.source})"
        )
    period_out = {
        "period": period,
        "from": since.isoformat() if since is not None else None,
        "to": request.received_at.isoformat() if since is not None else None,
        "covers": covers,
    }
    # The person's calls in the recording store, as their redacted transcripts (the store
    # keeps no unredacted text; the audio itself stays out of the package).
    calls = (
        _stored_calls(
            recordings_dir, org_id, subject.id, since, caller_indexes(session, org_id, subject.id)
        )
        if recordings_dir is not None and live and subject is not None and not categories_only
        else []
    )
    data = {
        "organization": organization_name,
        "request": {
            "reference": request.reference,
            "type": request.type,
            "received_at": request.received_at.isoformat(),
        },
        "generated_at": generated.isoformat(),
        "period": period_out,
        "categories": [
            {
                "category": c.category,
                "label": c.label,
                "count": c.count,
                "purposes": c.purposes,
                "sources": c.sources,
                "recipients": c.recipients,
                "retention": c.retention,
                **({} if categories_only else {"records": c.records}),
            }
            for c in categories
        ],
        "withheld": sorted(withheld),
        "disclosures": disclosures,
        **({} if categories_only else {"identities": identities, "interactions": interactions}),
        **({"systems": systems_out} if systems_out else {}),
        **({"recordings": calls} if calls else {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", _document(data))
        record_columns = [
            "value",
            "held",
            "source",
            "purposes",
            "collected_at",
            "policy_version_id",
        ]
        if categories_only:
            archive.writestr(
                "categories.csv",
                _csv(
                    [
                        {
                            "category": c.category,
                            "label": c.label,
                            "count": c.count,
                            "purposes": c.purposes,
                            "sources": c.sources,
                            "recipients": c.recipients,
                            "retention": c.retention,
                        }
                        for c in categories
                    ],
                    [
                        "category",
                        "label",
                        "count",
                        "purposes",
                        "sources",
                        "recipients",
                        "retention",
                    ],
                ),
            )
        else:
            for c in categories:
                same = {"recipients": c.recipients, "retention": c.retention}
                archive.writestr(
                    c.file, _csv(c.records, [*record_columns, "recipients", "retention"], same)
                )
            archive.writestr("identities.csv", _csv(identities, ["kind", "value"]))
            archive.writestr(
                "interactions.csv",
                _csv(interactions, ["channel", "direction", "started_at", "ended_at", "text"]),
            )
        archive.writestr("disclosures.csv", _csv(disclosures, DISCLOSURE_COLUMNS))
        _write_systems(archive, parts, systems_out, categories_only)
        archive.writestr(
            "summary.html",
            _TEMPLATE.render(
                organization=organization_name,
                reference=request.reference,
                received=request.received_at.strftime("%Y-%m-%d"),
                generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
                categories_only=categories_only,
                covers=covers,
                categories=categories,
                summary_rows=SUMMARY_ROWS,
                withheld=sorted(withheld),
                identities=identities,
                interactions=interactions,
                disclosures=disclosures,
                systems=systems_out,
            ),
        )
    return Package(buffer.getvalue(), count, len(withheld), len(categories))


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
