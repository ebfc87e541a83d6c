"""Reading and writing lake tables: Parquet, JSON Lines, CSV (with a header), and Delta when
`delta-spark` is installed. JSON and CSV are read in PERMISSIVE mode with a corrupt-record
column, so a line that does not parse is marked (and then counted and left out), not a failed
job."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, MapType, StringType, StructField, StructType

from honorbound.spark.frames import CORRUPT, JobError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FORMATS = ("parquet", "jsonl", "csv", "delta")
_SUFFIXES = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}


def has_delta() -> bool:
    return importlib.util.find_spec("delta") is not None


def guess_format(path: str, given: str | None) -> str:
    """The format named, or the one the path's suffix names."""
    if given is not None:
        if given not in FORMATS:
            raise JobError(f"unknown format '{given}'; use one of: {', '.join(FORMATS)}")
        fmt = given
    else:
        stripped = path.rstrip("/")
        suffix = stripped[stripped.rfind(".") :].lower() if "." in stripped else ""
        if suffix not in _SUFFIXES:
            raise JobError(
                f"{path}: cannot tell the format from the name; give --format "
                f"({', '.join(FORMATS)})"
            )
        fmt = _SUFFIXES[suffix]
    if fmt == "delta" and not has_delta():
        raise JobError("Delta tables need delta-spark: pip install 'honorbound[delta]'")
    return fmt


def read(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    reader = spark.read
    if fmt == "parquet":
        return reader.parquet(path)
    if fmt == "delta":
        return reader.format("delta").load(path)
    if fmt == "jsonl":
        return (
            reader.option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .json(path)
        )
    # CSV: the header names the columns, all read as text; a line with too many or too few
    # fields goes to the corrupt-record column (which needs it in the schema).
    header = reader.option("header", True).csv(path).columns
    schema = StructType([StructField(name, StringType()) for name in header])
    schema.add(StructField(CORRUPT, StringType()))
    return (
        reader.option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("escape", '"')
        .schema(schema)
        .csv(path)
    )


def write(df: DataFrame, path: str, fmt: str, mode: str) -> None:
    if fmt == "jsonl":
        df.write.mode(mode).option("ignoreNullFields", False).json(path)
    elif fmt == "parquet":
        df.write.mode(mode).parquet(path)
    elif fmt == "delta":
        df.write.mode(mode).format("delta").save(path)
    else:
        # CSV holds no lists: findings (and any other nested column) are written as JSON text.
        nested = (ArrayType, MapType, StructType)
        flat = df.select(
            *[
                F.to_json(F.col(f.name)).alias(f.name)
                if isinstance(f.dataType, nested)
                else F.col(f.name)
                for f in df.schema.fields
            ]
        )
        flat.write.mode(mode).option("header", True).option("escape", '"').csv(path)
