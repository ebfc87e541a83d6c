"""`honorbound.spark`: de-identification and drift scans of lake tables on Apache Spark.

An optional extra (`pip install 'honorbound[spark]'`); `honorbound.detect` never imports Spark.

    from honorbound.spark import Stats, redact_columns

    stats = Stats(spark)
    out = redact_columns(df, ["transcript"], "pseudonym", key=org_key, stats=stats)
    out.write.parquet("s3://lake/transcripts_deid/")
    print(stats.summary().table())

Each partition goes through `mapInArrow`, so an executor loads the compiled engine once and
passes Arrow batches through it; each row is redacted exactly as `honorbound redact` redacts a
line (`honorbound.detect.records`). The command line, `python -m honorbound.spark redact|drift`,
reads and writes Parquet, JSON Lines, CSV and (with delta-spark) Delta. See docs/spark.md.

    partitions.py  what runs on the executors: Arrow batches in, Arrow batches out (no Spark)
    frames.py      redact_columns, scan_columns, Stats and Summary
    lake.py        reading and writing Parquet, JSON Lines, CSV, Delta
    drift.py       the connected-systems drift scan for a lake table, sampled per partition
    __main__.py    the spark-submit entry point
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "honorbound.spark needs pyspark (and pyarrow): pip install 'honorbound[spark]'"
    ) from exc

from honorbound.spark.frames import JobError, Stats, Summary, redact_columns, scan_columns

__all__ = ["JobError", "Stats", "Summary", "redact_columns", "scan_columns"]
