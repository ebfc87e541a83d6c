"""What a field holds, from a sample of its values and from its name (`data/classify.yaml`).

Pure: it reads no database and opens no connector, so the drift scan of connected systems
(`scan.py`) and of lake tables on Spark executors (`honorbound.spark.drift`) both use it. Counts
from several samples of one field (Spark partitions) add up with `tally` + `settle`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

MAX_VALUE_CHARS = 2_000


@dataclass(frozen=True)
class NameRule:
    pattern: re.Pattern[str]
    category: str
    identity: str | None


@dataclass(frozen=True)
class Classifier:
    min_share: float
    entities: dict[str, str]
    names: tuple[NameRule, ...]


@cache
def classifier() -> Classifier:
    data = yaml.safe_load(
        resources.files("honorbound.systems").joinpath("data/classify.yaml").read_text("utf-8")
    )
    return Classifier(
        float(data["min_share"]),
        dict(data["entities"]),
        tuple(
            NameRule(re.compile(r["pattern"]), r["category"], r.get("identity"))
            for r in data["names"]
        ),
    )


@dataclass
class FieldScan:
    name: str
    declared: list[str]
    found: dict[str, int]  # category -> sampled values that showed it
    by_name: str | None
    identity_hint: str | None
    non_empty: int

    @property
    def categories(self) -> list[str]:
        cats = set(self.found)
        if self.by_name:
            cats.add(self.by_name)
        return sorted(cats)


def name_rule(column: str) -> NameRule | None:
    lowered = column.lower()
    return next((r for r in classifier().names if r.pattern.search(lowered)), None)


def tally(columns: Iterable[str], rows: Sequence[Mapping[str, Any]]) -> list[FieldScan]:
    """Per column: how many sampled values are non-empty, and how many show each category."""
    from honorbound.detect import scan_many

    rules = classifier()
    out = []
    for column in columns:
        values = [r.get(column) for r in rows]
        texts = [str(v)[:MAX_VALUE_CHARS] for v in values if v is not None and str(v).strip()]
        found: dict[str, int] = {}
        for findings in scan_many(texts) if texts else []:
            seen = {rules.entities[f.type] for f in findings if f.type in rules.entities}
            for cat in seen:
                found[cat] = found.get(cat, 0) + 1
        out.append(field_scan(column, found, len(texts)))
    return out


def field_scan(column: str, found: dict[str, int], non_empty: int) -> FieldScan:
    hint = name_rule(column)
    return FieldScan(
        column,
        [],
        found,
        hint.category if hint else None,
        hint.identity if hint else None,
        non_empty,
    )


def settle(field: FieldScan) -> FieldScan:
    """The field with only the categories at least `min_share` of its values show."""
    share = classifier().min_share
    n = field.non_empty
    field.found = {c: k for c, k in field.found.items() if n and k / n >= share}
    return field


def classify_rows(columns: Iterable[str], rows: Sequence[Mapping[str, Any]]) -> list[FieldScan]:
    return [settle(f) for f in tally(columns, rows)]


def covers(declared: list[str], found: str) -> bool:
    """A declared category covers a found one when one is the other or an ancestor of it."""
    return any(
        found == d or found.startswith(d + ".") or d.startswith(found + ".") for d in declared
    )
