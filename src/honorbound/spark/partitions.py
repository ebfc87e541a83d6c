"""What runs on the executors: Arrow record batches in, Arrow record batches out.

Uses no Spark API (plain pyarrow): Spark hands `mapInArrow` an iterator over one partition's
batches, and these functions are called once per partition, so the compiled engine (and its
pattern tables) is loaded once per Python worker (Spark reuses them between tasks), never per
row. Each row is one document: the `synthetic` operator gives one value the same surrogate in
all of a row's text columns.

A row counts as corrupt when the reader marked it (JSON or CSV that does not parse: Spark puts
the raw line in the corrupt-record column) or when the engine raised on it; a corrupt row is
left out of the output and counted, and the job goes on. Counts are added per partition to a
`dict[str, int]` (`rows`, `corrupt:<reason>`, `findings:<TYPE>`, `bytes_in`, `bytes_out`), which
the driver adds up; no value ever goes into it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from honorbound.detect.operators import Context
from honorbound.detect.records import redact_text, scan_text
from honorbound.systems.classify import tally

FINDING = pa.struct(
    [("type", pa.string()), ("start", pa.int32()), ("end", pa.int32()), ("score", pa.float64())]
)
FINDINGS = pa.list_(FINDING)

Counts = dict[str, int]


@dataclass(frozen=True)
class Plan:
    """What to do to each row: scan (operator None) or redact the text columns."""

    columns: tuple[str, ...]
    operator: str | None
    key: bytes | None = field(default=None, repr=False)
    entities: frozenset[str] | None = None
    findings: dict[str, str] | None = None  # text column -> its findings column, None: none
    corrupt: str | None = None  # the reader's corrupt-record column, if any
    output: tuple[str, ...] = ()  # output column names, in order


def add(counts: Counts, name: str, n: int = 1) -> None:
    counts[name] = counts.get(name, 0) + n


def _row(
    plan: Plan, values: list[str | None]
) -> tuple[list[str | None], list[list[dict[str, Any]]]]:
    ctx = Context(key=plan.key)
    texts: list[str | None] = []
    found: list[list[dict[str, Any]]] = []
    for value in values:
        if value is None:
            texts.append(None)
            found.append([])
            continue
        if plan.operator is None:
            findings = scan_text(value, plan.entities)
            texts.append(value)
        else:
            redacted, findings = redact_text(value, plan.operator, plan.key, plan.entities, ctx)
            texts.append(redacted)
        found.append([f.to_dict() for f in findings])
    return texts, found


def redact_batches(
    batches: Iterator[pa.RecordBatch], plan: Plan, counts: Counts
) -> Iterator[pa.RecordBatch]:
    """One partition: each batch with its text columns redacted (or scanned) and findings added."""
    for batch in batches:
        n = batch.num_rows
        names = batch.schema.names
        marks = (
            batch.column(names.index(plan.corrupt)).to_pylist()
            if plan.corrupt in names
            else [None] * n
        )
        columns = [batch.column(names.index(c)).to_pylist() for c in plan.columns]
        keep: list[bool] = []
        out_text: list[list[str | None]] = [[] for _ in plan.columns]
        out_found: list[list[list[dict[str, Any]]]] = [[] for _ in plan.columns]
        for i in range(n):
            if marks[i] is not None:
                keep.append(False)
                add(counts, "corrupt:not parsable by the reader")
                continue
            values = [col[i] for col in columns]
            try:
                texts, found = _row(plan, values)
            except Exception:  # one bad value must not fail the job; never log the value
                keep.append(False)
                add(counts, "corrupt:the engine could not process it")
                continue
            keep.append(True)
            add(counts, "rows")
            for j, (value, text, items) in enumerate(zip(values, texts, found, strict=True)):
                out_text[j].append(text)
                out_found[j].append(items)
                if value is not None:
                    add(counts, "bytes_in", len(value.encode("utf-8", "surrogatepass")))
                if text is not None:
                    add(counts, "bytes_out", len(text.encode("utf-8", "surrogatepass")))
                for item in items:
                    add(counts, f"findings:{item['type']}")
        base = batch if all(keep) else batch.filter(pa.array(keep, pa.bool_()))
        arrays: list[pa.Array] = []
        by_findings = {v: k for k, v in (plan.findings or {}).items()}
        for name in plan.output:
            if name in plan.columns:
                arrays.append(pa.array(out_text[plan.columns.index(name)], pa.string()))
            elif name in by_findings:
                j = plan.columns.index(by_findings[name])
                arrays.append(pa.array(out_found[j], FINDINGS))
            else:
                arrays.append(base.column(names.index(name)))
        yield pa.RecordBatch.from_arrays(arrays, names=list(plan.output))


DRIFT_SCHEMA = pa.schema(
    [("field", pa.string()), ("category", pa.string()), ("values", pa.int64())]
)
# Per partition: one row without field (`values`: rows sampled); per field one row without
# category (`values`: non-empty values sampled) and one per category found in them.


def sample_batches(
    batches: Iterator[pa.RecordBatch], columns: tuple[str, ...], sample_rows: int
) -> Iterator[pa.RecordBatch]:
    """One partition's drift sample: its first `sample_rows` rows, tallied per field (counts of
    values per category, and of non-empty values), one small batch out. No value leaves."""
    rows: list[dict[str, Any]] = []
    for batch in batches:
        take = min(batch.num_rows, sample_rows - len(rows))
        if take > 0:
            rows.extend(batch.slice(0, take).select(list(columns)).to_pylist())
        # The rest of the partition is read on (the reader cannot be stopped), not scanned.
    fields: list[str | None] = [None]
    categories: list[str | None] = [None]
    values: list[int] = [len(rows)]
    for scanned in tally(columns, rows):
        fields.append(scanned.name)
        categories.append(None)
        values.append(scanned.non_empty)
        for category, n in sorted(scanned.found.items()):
            fields.append(scanned.name)
            categories.append(category)
            values.append(n)
    yield pa.RecordBatch.from_arrays(
        [
            pa.array(fields, pa.string()),
            pa.array(categories, pa.string()),
            pa.array(values, pa.int64()),
        ],
        schema=DRIFT_SCHEMA,
    )
