"""The DataFrame API: `redact_columns` and `scan_columns`, each one `mapInArrow` over the
partitions (see `partitions.py`), and `Stats`, the counts the job's tasks add up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
from pyspark.accumulators import Accumulator, AccumulatorParam
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from honorbound.detect import OPERATORS
from honorbound.detect.records import KEY_OPERATORS, check_entities
from honorbound.errors import HonorboundError
from honorbound.spark.partitions import Counts, Plan, redact_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FINDING_TYPE = StructType(
    [
        StructField("type", StringType()),
        StructField("start", IntegerType()),
        StructField("end", IntegerType()),
        StructField("score", DoubleType()),
    ]
)
FINDINGS_TYPE = ArrayType(FINDING_TYPE)
CORRUPT = "_corrupt_record"


class JobError(HonorboundError, ValueError):
    """The job cannot run as asked (a column missing or not text, a bad operator or key)."""

    status = 422
    title = "Invalid job"


class _CountsParam(AccumulatorParam[Counts]):
    def zero(self, value: Counts) -> Counts:
        return {}

    def addInPlace(self, value1: Counts, value2: Counts) -> Counts:
        for name, n in value2.items():
            value1[name] = value1.get(name, 0) + n
        return value1


@dataclass
class Summary:
    """What a job did: rows written, corrupt rows by reason, findings per type, text bytes."""

    rows: int = 0
    corrupt: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0

    @classmethod
    def of(cls, counts: Counts) -> Summary:
        out = cls(rows=counts.get("rows", 0))
        out.bytes_in = counts.get("bytes_in", 0)
        out.bytes_out = counts.get("bytes_out", 0)
        for name, n in sorted(counts.items()):
            kind, _, what = name.partition(":")
            if kind == "corrupt":
                out.corrupt[what] = n
            elif kind == "findings":
                out.findings[what] = n
        return out

    @property
    def corrupt_rows(self) -> int:
        return sum(self.corrupt.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "corrupt_rows": self.corrupt_rows,
            "corrupt": dict(self.corrupt),
            "findings": dict(self.findings),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }

    def table(self) -> str:
        lines = [
            f"{'rows':<28}{self.rows:>14,}",
            f"{'corrupt rows (left out)':<28}{self.corrupt_rows:>14,}",
        ]
        lines += [f"  {why:<26}{n:>14,}" for why, n in self.corrupt.items()]
        lines += [
            f"{'text bytes in':<28}{self.bytes_in:>14,}",
            f"{'text bytes out':<28}{self.bytes_out:>14,}",
            f"{'findings':<28}{sum(self.findings.values()):>14,}",
        ]
        lines += [
            f"  {kind:<26}{n:>14,}"
            for kind, n in sorted(self.findings.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return "\n".join(lines)


class Stats:
    """Counts from the tasks of the actions run on a redacted DataFrame (a Spark accumulator:
    read it after the action; a stage Spark runs twice counts twice, so run one action)."""

    def __init__(self, spark: SparkSession) -> None:
        self._acc: Accumulator[Counts] = spark.sparkContext.accumulator({}, _CountsParam())

    def add(self, counts: Counts) -> None:
        self._acc.add(counts)

    def summary(self) -> Summary:
        return Summary.of(dict(self._acc.value))


def _plan(
    df: DataFrame,
    columns: Iterable[str],
    operator: str | None,
    key: bytes | None,
    entities: Iterable[str] | None,
    findings: bool,
) -> tuple[Plan, StructType]:
    chosen = tuple(dict.fromkeys(columns))
    if not chosen:
        raise JobError("name at least one text column")
    if operator is not None and operator not in OPERATORS:
        raise JobError(f"unknown operator '{operator}'; use one of: {', '.join(OPERATORS)}")
    if operator in KEY_OPERATORS and not key:
        raise JobError(f"the '{operator}' operator needs a key (16, 24 or 32 bytes)")
    try:
        wanted = None if entities is None else check_entities(entities)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    by_name = {f.name: f for f in df.schema.fields}
    for name in chosen:
        if name not in by_name:
            known = ", ".join(n for n in by_name if n != CORRUPT)
            raise JobError(f"no column '{name}' in the input; its columns are: {known}")
        if not isinstance(by_name[name].dataType, StringType):
            raise JobError(
                f"column '{name}' holds {by_name[name].dataType.simpleString()}, not text; "
                "name text (string) columns only"
            )
    # One text column: its findings are `findings` (the shape `honorbound redact` writes);
    # several: `<column>_findings`.
    names = {chosen[0]: "findings"} if len(chosen) == 1 else {c: f"{c}_findings" for c in chosen}
    fields = [f for f in df.schema.fields if f.name != CORRUPT]
    if findings:
        for made in names.values():
            if made in by_name:
                raise JobError(
                    f"the input already has a column '{made}'; the findings would overwrite it "
                    "(rename it, or leave findings out)"
                )
        fields += [StructField(made, FINDINGS_TYPE) for made in names.values()]
    schema = StructType(fields)
    plan = Plan(
        columns=chosen,
        operator=operator,
        key=key,
        entities=wanted,
        findings=names if findings else None,
        corrupt=CORRUPT if CORRUPT in by_name else None,
        output=tuple(f.name for f in fields),
    )
    return plan, schema


def _run(df: DataFrame, plan: Plan, schema: StructType, stats: Stats | None) -> DataFrame:
    def each_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        counts: Counts = {}
        yield from redact_batches(batches, plan, counts)
        if stats is not None:
            stats.add(counts)

    return df.mapInArrow(each_partition, schema)


def redact_columns(
    df: DataFrame,
    columns: Iterable[str],
    operator: str = "replace",
    *,
    key: bytes | None = None,
    entities: Iterable[str] | None = None,
    findings: bool = True,
    stats: Stats | None = None,
) -> DataFrame:
    """`df` with each text column redacted by `operator` (as `honorbound redact` does), and its
    findings (offsets into the original text) in `findings` (one column) or `<column>_findings`.

    `key` is the organization's key for `pseudonym` and `encrypt`: the same key gives the same
    pseudonym on every executor. Rows the reader marked corrupt (`_corrupt_record`) are left out
    and counted in `stats`. Lazy, like any transformation: nothing runs before an action."""
    plan, schema = _plan(df, columns, operator, key, entities, findings)
    return _run(df, plan, schema, stats)


def scan_columns(
    df: DataFrame,
    columns: Iterable[str],
    *,
    entities: Iterable[str] | None = None,
    stats: Stats | None = None,
) -> DataFrame:
    """`df` with the findings of each text column added, the text left as it is."""
    plan, schema = _plan(df, columns, None, None, entities, True)
    return _run(df, plan, schema, stats)
