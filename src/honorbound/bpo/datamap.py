"""The data map of a desk's organizations: their adopted notices side by side by data
category (purposes, recipients, retention), with the rows where they differ marked.

One comparison (`compare`, on `policy.datamap.side_by_side`) rendered three ways: the console
page (`/console/all-clients/data-map`), JSON (`/v1/clients/data-map`, `honorbound clients
data-map --format json`) and CSV (the page's export link, the API's `format=csv`, the CLI).
Who may see which organizations is the caller's business (`desk.organizations_of_user`,
`desk.organizations_of_bpo`). The notices are the controllers' published texts: no personal
data is in any of it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from honorbound.bpo.desk import DeskOrganization
from honorbound.policy import store
from honorbound.policy.datamap import ASPECTS, ComparedRow, side_by_side


@dataclass(frozen=True)
class Column:
    organization: DeskOrganization
    notice: store.AdoptedPolicy | None  # the newest adopted version; None: none adopted


@dataclass(frozen=True)
class DataMap:
    columns: list[Column]
    rows: list[ComparedRow]  # per category (by key), one row per aspect, in ASPECTS order

    @property
    def categories(self) -> int:
        return len({r.key for r in self.rows})

    @property
    def differing(self) -> int:
        """Categories where at least one aspect differs between the notices."""
        return len({r.key for r in self.rows if r.cells and r.cells[0].differs})


def compare(session: Session, organizations: list[DeskOrganization]) -> DataMap:
    """The newest adopted notice of each organization, compared (columns in the given order)."""
    columns = [Column(o, store.current(session, o.id)) for o in organizations]
    rows = side_by_side([c.notice.declaration if c.notice else None for c in columns])
    return DataMap(columns, rows)


def as_json(found: DataMap) -> dict[str, Any]:
    """Per organization its notice version; per category and aspect each organization's
    values (null: the category is not in its notice) and whether they differ."""
    slugs = [c.organization.slug for c in found.columns]
    return {
        "organizations": [
            {
                "slug": c.organization.slug,
                "name": c.organization.name,
                "notice_version": c.notice.number if c.notice else None,
                "effective_date": c.notice.effective_date.isoformat() if c.notice else None,
            }
            for c in found.columns
        ],
        "aspects": list(ASPECTS),
        "categories": found.categories,
        "differing_categories": found.differing,
        "rows": [
            {
                "category": r.key,
                "title": r.title,
                "aspect": r.aspect,
                "differs": bool(r.cells and r.cells[0].differs),
                "values": {
                    slug: list(cell.values) if cell.values is not None else None
                    for slug, cell in zip(slugs, r.cells, strict=True)
                },
            }
            for r in found.rows
        ],
    }


def as_csv(found: DataMap) -> str:
    """One line per category and aspect: category, title, aspect, differs (yes/no), then one
    column per organization (its slug) with the values joined by "; ", "none" when the notice
    names none, "not in this notice" when it lacks the category."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["category", "title", "aspect", "differs"] + [c.organization.slug for c in found.columns]
    )
    for r in found.rows:
        differs = "yes" if r.cells and r.cells[0].differs else "no"
        writer.writerow([r.key, r.title, r.aspect, differs] + [_cell(c.text) for c in r.cells])
    return buffer.getvalue()


def _cell(text: str) -> str:
    # A notice's text starting with = + - @ would be a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
