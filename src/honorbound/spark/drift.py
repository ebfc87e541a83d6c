"""Notice drift for lake tables: the connected-systems drift scan (`honorbound.systems.scan`),
run on Spark over a table too large to sample from one machine.

Each partition's first `sample_rows` rows are classified on its executor with the same code as
the connected-systems scan (`honorbound.systems.classify`: what `honorbound.detect` finds in the
values, and the column names); the counts are added up on the driver, where the share rule of
`classify.yaml` is applied to the totals. Against a dataset map (the Fides YAML of connected
systems), fields holding personal data the map does not declare are listed in the same shape as
the connected-systems report. With a retention field and period, the rows older than the cutoff
are counted exactly (a column scan on the cluster, no text read). The report holds names,
categories and counts, never a sampled value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from honorbound.spark.frames import CORRUPT, JobError
from honorbound.spark.partitions import sample_batches
from honorbound.systems.classify import FieldScan, covers, field_scan, settle

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from honorbound.systems.maps import CollectionMap

_OUT = StructType(
    [
        StructField("field", StringType()),
        StructField("category", StringType()),
        StructField("values", LongType()),
    ]
)


def sampled_fields(
    df: DataFrame, columns: list[str] | None, sample_rows: int
) -> tuple[list[FieldScan], int, int]:
    """The fields classified from the first `sample_rows` rows of every partition, the rows
    sampled and the partitions sampled."""
    skip = (ArrayType, MapType, StructType, BinaryType)
    by_name = {f.name: f for f in df.schema.fields if f.name != CORRUPT}
    if columns is None:
        chosen = [n for n, f in by_name.items() if not isinstance(f.dataType, skip)]
    else:
        for name in columns:
            if name not in by_name:
                raise JobError(
                    f"no column '{name}' in the input; its columns are: {', '.join(by_name)}"
                )
        chosen = list(columns)
    if not chosen:
        raise JobError("the input has no column that holds text, numbers or dates to sample")
    # Values are classified as text: numbers and dates are cast on the cluster.
    narrow = df.select(*[F.col(f"`{c}`").cast("string").alias(c) for c in chosen])
    names = tuple(chosen)

    def each_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from sample_batches(batches, names, sample_rows)

    rows = narrow.mapInArrow(each_partition, _OUT).collect()
    sampled = sum(r["values"] for r in rows if r["field"] is None)
    partitions = sum(1 for r in rows if r["field"] is None)
    non_empty: dict[str, int] = dict.fromkeys(chosen, 0)
    found: dict[str, dict[str, int]] = {c: {} for c in chosen}
    for r in rows:
        if r["field"] is None:
            continue
        if r["category"] is None:
            non_empty[r["field"]] += r["values"]
        else:
            cats = found[r["field"]]
            cats[r["category"]] = cats.get(r["category"], 0) + r["values"]
    fields = [settle(field_scan(c, found[c], non_empty[c])) for c in chosen]
    return fields, sampled, partitions


def older_than(df: DataFrame, field: str, period: str, as_of: dt.datetime) -> dict[str, Any]:
    from honorbound.retention.rules import cutoff

    if field not in df.columns:
        raise JobError(f"no column '{field}' in the input to read the retention date from")
    try:
        limit = cutoff(as_of, period)
    except (ValueError, KeyError):
        raise JobError(f"'{period}' is not an ISO 8601 period (P2Y, P18M, P90D)") from None
    stamp = F.col(f"`{field}`").cast(TimestampType())
    # Spark compares timestamps in its session time zone; the cutoff is given in UTC.
    limit_naive = limit.astimezone(dt.UTC).replace(tzinfo=None)
    row = df.agg(
        F.min(stamp).alias("oldest"),
        F.sum(F.when(stamp < F.lit(limit_naive), 1).otherwise(0)).alias("older"),
        F.sum(F.when(stamp.isNull(), 1).otherwise(0)).alias("undated"),
    ).collect()[0]
    oldest = row["oldest"]
    return {
        "field": field,
        "period": period,
        "cutoff": limit.isoformat(),
        "oldest": oldest.isoformat() if oldest is not None else None,
        "rows_older": int(row["older"] or 0),
        "rows_without_date": int(row["undated"] or 0),
    }


def drift(
    df: DataFrame,
    *,
    table: str,
    columns: list[str] | None = None,
    sample_rows: int = 200,
    system: str | None = None,
    collection: CollectionMap | None = None,
    retention_field: str | None = None,
    retention_period: str | None = None,
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """The drift report of one lake table (see the module's docstring)."""
    if sample_rows < 1:
        raise JobError("--sample-rows must be at least 1")
    started = dt.datetime.now(dt.UTC)
    fields, sampled, partitions = sampled_fields(df, columns, sample_rows)
    report: dict[str, Any] = {
        "generated_at": started.isoformat(),
        "table": table,
        "system": system,
        "collection": collection.name if collection else None,
        "sample_rows_per_partition": sample_rows,
        "partitions_sampled": partitions,
        "rows_sampled": sampled,
        "fields": [],
        "undeclared_fields": [],
        "older_than_retention": [],
    }
    for fs in fields:
        mapped = collection.field(fs.name) if collection else None
        fs.declared = list(mapped.categories) if mapped else []
        personal = [c for c in fs.categories if c.startswith("user.")]
        report["fields"].append(
            {
                "field": fs.name,
                "declared": fs.declared,
                "found": fs.categories,
                "sampled": fs.non_empty,
            }
        )
        undeclared = [c for c in personal if not covers(fs.declared, c)]
        if undeclared:
            report["undeclared_fields"].append(
                {
                    "system": system,
                    "collection": report["collection"] or table,
                    "table_mapped": collection is not None,
                    "field": fs.name,
                    "field_mapped": mapped is not None,
                    "categories": undeclared,
                    "values_with_it": max([fs.found.get(c, 0) for c in undeclared] or [0]),
                    "sampled": fs.non_empty,
                    "by_name": fs.by_name in undeclared,
                }
            )
    if retention_period is not None:
        field_name = retention_field or (collection.retention_field if collection else None)
        if field_name is None:
            raise JobError(
                "--retention needs the date column: give --retention-field, or a map whose "
                "collection names its retention_field"
            )
        older = older_than(df, field_name, retention_period, as_of or started)
        if older["rows_older"]:
            report["older_than_retention"].append(older)
        report["retention"] = older
    report["finished_at"] = dt.datetime.now(dt.UTC).isoformat()
    return report
