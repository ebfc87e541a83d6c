"""CA 7102 metrics: for each of know, delete, correct, opt-out and limit, the requests received
in a calendar year, complied with in whole or in part, denied, and the median and mean days
to respond (receipt to response date). Denials are broken out by basis."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import statistics
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.consent.models import Action, ConsentEvent, Purpose, Source
from honorbound.rights.models import Response, RightsRequest
from honorbound.rights.rules import RightsRules

COLUMNS = [
    "request_type",
    "received",
    "complied_in_whole_or_part",
    "denied",
    "denied_unverifiable",
    "denied_not_a_consumer",
    "denied_exempt",
    "denied_other",
    "median_days",
    "mean_days",
]


@dataclass
class Row:
    request_type: str
    received: int = 0
    complied: int = 0
    denied: int = 0
    denied_by: dict[str, int] = field(default_factory=dict)
    days: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, str | int]:
        median = f"{statistics.median(self.days):.1f}" if self.days else ""
        mean = f"{statistics.fmean(self.days):.1f}" if self.days else ""
        other = sum(
            v
            for k, v in self.denied_by.items()
            if k not in ("unverifiable", "not_a_consumer", "exempt")
        )
        return {
            "request_type": self.request_type,
            "received": self.received,
            "complied_in_whole_or_part": self.complied,
            "denied": self.denied,
            "denied_unverifiable": self.denied_by.get("unverifiable", 0),
            "denied_not_a_consumer": self.denied_by.get("not_a_consumer", 0),
            "denied_exempt": self.denied_by.get("exempt", 0),
            "denied_other": other,
            "median_days": median,
            "mean_days": mean,
        }


def compute(
    session: Session, organization_id: int, year: int, rules: RightsRules, metric_types: list[str]
) -> list[Row]:
    rows = {t: Row(t) for t in metric_types}
    mapping = {name: rule.metrics_type for name, rule in rules.types.items()}
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    query = select(
        RightsRequest.type,
        RightsRequest.response,
        RightsRequest.denial_basis,
        RightsRequest.received_at,
        RightsRequest.closed_at,
    ).where(
        RightsRequest.organization_id == organization_id,
        RightsRequest.received_at >= start,
        RightsRequest.received_at < end,
    )
    for request_type, response, basis, received_at, closed_at in session.execute(query):
        metric = mapping.get(request_type)
        if metric is None or metric not in rows:
            continue
        row = rows[metric]
        row.received += 1
        if response in (Response.COMPLIED.value, Response.COMPLIED_IN_PART.value):
            row.complied += 1
        elif response == Response.DENIED.value:
            row.denied += 1
            key = basis or "other"
            row.denied_by[key] = row.denied_by.get(key, 0) + 1
        if response is not None and closed_at is not None:
            row.days.append((closed_at - received_at).total_seconds() / 86400)
    if OPT_OUT_METRIC in rows:
        _count_direct_opt_outs(session, organization_id, start, end, rows[OPT_OUT_METRIC])
    return [rows[t] for t in metric_types]


OPT_OUT_METRIC = "opt_out"
# Opt-outs of sale/sharing a person sent without a rights request: the choices form (with an
# email or phone, or for this browser only, by cookie) and opt-out preference signals. Each is
# a request to opt out (11 CCR 7102 counts them), honored as it is recorded. One form sends a
# `sale` and a `sharing` event: the `sale` events are counted, once per submission.
DIRECT_OPT_OUT_SOURCES = (Source.WEB_FORM.value, Source.GPC_SIGNAL.value)


def _count_direct_opt_outs(
    session: Session, organization_id: int, start: dt.datetime, end: dt.datetime, row: Row
) -> None:
    query = select(ConsentEvent.occurred_at, ConsentEvent.recorded_at).where(
        ConsentEvent.organization_id == organization_id,
        ConsentEvent.purpose == Purpose.SALE.value,
        ConsentEvent.action == Action.OPT_OUT.value,
        ConsentEvent.source.in_(DIRECT_OPT_OUT_SOURCES),
        ConsentEvent.occurred_at >= start,
        ConsentEvent.occurred_at < end,
    )
    for occurred_at, recorded_at in session.execute(query):
        row.received += 1
        row.complied += 1
        row.days.append(max(0.0, (recorded_at - occurred_at).total_seconds() / 86400))


def to_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.as_dict())
    return out.getvalue()


def to_html(rows: list[Row], organization: str, year: int) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.as_dict().values())
        + "</tr>"
        for row in rows
    )
    title = f"Privacy request metrics {year}: {html.escape(organization)}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}"
        f"</style></head><body><h1>{title}</h1>"
        f"<p>Requests received from January 1 to December 31, {year} (11 CCR 7102). Days are "
        "calendar days from receipt to our response.</p>"
        f"<table><tr>{head}</tr>{body}</table></body></html>\n"
    )
