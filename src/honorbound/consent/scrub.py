"""Scrub a campaign list (CSV) into allowed and blocked lists, with the reasons.

The input needs an `identity` column (or `phone` / `email`); `purpose`, `channel`, `at`,
`state`, `time_zone` and `sender` columns, when present, override the defaults per row. All
other columns pass through untouched. Rows are decided in chunks, so lists of millions stream.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from honorbound.consent.decisions import Batch, DecisionEngine, batch_from_items
from honorbound.errors import HonorboundError

IDENTITY_COLUMNS = ("identity", "phone", "email")
ITEM_COLUMNS = ("purpose", "channel", "at", "state", "time_zone", "sender", "kind")
CHUNK = 100_000


class ScrubError(HonorboundError, ValueError):
    """The list cannot be read at all (e.g. no identity column)."""

    status = 422
    title = "Invalid campaign file"


@dataclass(frozen=True)
class ScrubResult:
    allowed_path: Path
    blocked_path: Path
    allowed: int
    blocked: int
    reasons: dict[str, int]
    warnings: list[str]


def _chunks(reader: Iterator[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    chunk: list[dict[str, str]] = []
    for row in reader:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def scrub(
    session: Session,
    engine: DecisionEngine,
    organization_id: int,
    source: Path,
    purpose: str,
    channel: str,
    out_dir: Path,
    at: dt.datetime | None = None,
) -> ScrubResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    allowed_path = out_dir / f"{source.stem}.allowed.csv"
    blocked_path = out_dir / f"{source.stem}.blocked.csv"
    allowed = blocked = 0
    reasons: dict[str, int] = {}
    warnings: list[str] = []
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        id_column = next((c for c in IDENTITY_COLUMNS if c in header), None)
        if id_column is None:
            raise ScrubError(
                f"{source.name}:1: the header needs an 'identity' (or 'phone'/'email') column"
            )
        with (
            allowed_path.open("w", newline="", encoding="utf-8") as ok_file,
            blocked_path.open("w", newline="", encoding="utf-8") as no_file,
        ):
            ok_writer = csv.DictWriter(ok_file, fieldnames=header)
            no_writer = csv.DictWriter(no_file, fieldnames=[*header, "reasons", "errors"])
            ok_writer.writeheader()
            no_writer.writeheader()
            line = 1
            for rows in _chunks(iter(reader), CHUNK):
                items = []
                for row in rows:
                    item: dict[str, object] = {"identity": row.get(id_column) or ""}
                    if id_column in ("phone", "email"):
                        item["kind"] = id_column
                    for column in ITEM_COLUMNS:
                        if row.get(column):
                            item[column] = row[column]
                    item.setdefault("purpose", purpose)
                    item.setdefault("channel", channel)
                    if at is not None and "at" not in item:
                        item["at"] = at.isoformat()
                    items.append(item)
                batch: Batch = batch_from_items(items)
                result = engine.decide(session, organization_id, batch)
                for i, row in enumerate(rows):
                    line += 1
                    if result.allowed[i]:
                        ok_writer.writerow(row)
                        allowed += 1
                        continue
                    names = result.reasons_of(i)
                    for name in names:
                        reasons[name] = reasons.get(name, 0) + 1
                    errors = "; ".join(
                        f"line {line}: {field}: {message}"
                        for field, message in result.errors.get(i, [])
                    )
                    no_writer.writerow({**row, "reasons": " ".join(names), "errors": errors})
                    blocked += 1
                warnings = result.warnings
    return ScrubResult(allowed_path, blocked_path, allowed, blocked, reasons, warnings)
