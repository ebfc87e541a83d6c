"""`python -m honorbound.spark redact|drift`: the job, runnable with `python -m` (a local Spark)
or handed to `spark-submit` as this file's path (see docs/spark.md).

    python -m honorbound.spark redact calls.jsonl out/ --operator pseudonym --key-env ORG_KEY
    python -m honorbound.spark drift s3a://lake/chats/ --format parquet --map maps.yaml \\
        --system lake --collection chats --retention P2Y

Bad input (a path that does not exist, a column that is not there, a key that is not one) ends
with exit status 2 and one sentence on stderr; no value of the data is ever printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from honorbound.detect import OPERATORS
from honorbound.detect.records import read_key, select_entities
from honorbound.spark.frames import JobError, Stats, redact_columns
from honorbound.spark.lake import FORMATS, guess_format, read, write

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from honorbound.systems.maps import CollectionMap


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m honorbound.spark",
        description="De-identify lake tables, or scan them for notice drift, on Apache Spark.",
    )
    top.add_argument(
        "--master",
        help="Spark master when run with python -m (default: the one spark-submit or the "
        "cluster sets, else local[*])",
    )
    sub = top.add_subparsers(dest="command", required=True)

    red = sub.add_parser("redact", help="Redact the text columns of a table into a new table.")
    red.add_argument("input", help="Input path (file or directory; local, s3a://, abfss://, ...)")
    red.add_argument("output", help="Output path (a directory Spark writes part files into)")
    red.add_argument("--format", choices=FORMATS, help="Input format (default: from the suffix)")
    red.add_argument("--output-format", choices=FORMATS, help="Default: the input's format")
    red.add_argument(
        "--columns", default="text", help="Text columns, comma-separated (default: text)"
    )
    red.add_argument("--operator", choices=OPERATORS, default="replace")
    red.add_argument("--entities", help="Only these types, comma-separated (default: every type)")
    red.add_argument("--key-file", help="Key for pseudonym/encrypt: 32 bytes, raw or hex")
    red.add_argument("--key-env", help="Environment variable holding the key (hex)")
    red.add_argument("--no-findings", action="store_true", help="Leave the findings columns out")
    red.add_argument("--mode", choices=("error", "overwrite"), default="error")
    red.add_argument(
        "--partitions", type=int, help="Repartition the input into this many partitions first"
    )
    red.add_argument("--summary", help="Also write the summary as JSON to this local file")

    dr = sub.add_parser("drift", help="Scan a table for personal data its map does not declare.")
    dr.add_argument("input")
    dr.add_argument("--format", choices=FORMATS)
    dr.add_argument("--columns", help="Columns to sample, comma-separated (default: all)")
    dr.add_argument("--sample-rows", type=int, default=200, help="Rows sampled per partition")
    dr.add_argument("--map", help="Dataset map (Fides YAML) declaring the table's fields")
    dr.add_argument("--system", help="The map's dataset (fides_key); default: the only one")
    dr.add_argument("--collection", help="The map's collection for this table")
    dr.add_argument("--retention", help="Retention period, ISO 8601 (P2Y): count older rows")
    dr.add_argument("--retention-field", help="Date column the period runs from")
    dr.add_argument("--report", help="Also write the report as JSON to this local file")
    return top


def session(master: str | None, app: str, delta: bool) -> SparkSession:
    from pyspark.sql import SparkSession

    # Python workers of a local Spark run this interpreter (where Honorbound is installed),
    # not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    elif "SPARK_HOME" not in os.environ and "spark.master" not in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", ""
    ):
        builder = builder.master("local[*]")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    # Files the job writes (on local and HDFS-like stores) are readable by their owner only.
    builder = builder.config("spark.hadoop.fs.permissions.umask-mode", "077")
    if delta:
        from delta import configure_spark_with_delta_pip

        builder = configure_spark_with_delta_pip(builder)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _redact(args: argparse.Namespace) -> None:
    in_fmt = guess_format(args.input, args.format)
    out_fmt = args.output_format or in_fmt
    if out_fmt == "delta":
        guess_format(args.output, "delta")
    try:
        key = read_key(args.operator, args.key_file, args.key_env, os.environ)
        entities = select_entities(args.entities)
    except ValueError as exc:
        _fail(str(exc))
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    if args.partitions is not None and args.partitions < 1:
        _fail("--partitions must be at least 1")
    spark = session(args.master, "honorbound-redact", "delta" in (in_fmt, out_fmt))
    from pyspark.errors import AnalysisException

    try:
        df = read(spark, args.input, in_fmt)
        if args.partitions:
            df = df.repartition(args.partitions)
        stats = Stats(spark)
        out = redact_columns(
            df,
            columns,
            args.operator,
            key=key,
            entities=entities,
            findings=not args.no_findings,
            stats=stats,
        )
        write(out, args.output, out_fmt, args.mode)
    except AnalysisException as exc:
        _fail(_analysis(exc, args))
    summary = stats.summary()
    print(summary.table())
    if args.summary:
        _write_private(args.summary, json.dumps(summary.as_dict(), indent=1, sort_keys=True))


def _drift(args: argparse.Namespace) -> None:
    from honorbound.spark.drift import drift

    fmt = guess_format(args.input, args.format)
    collection = None
    system = args.system
    if args.map:
        collection, system = _collection(args.map, args.system, args.collection)
    elif args.collection or args.system:
        _fail("--system and --collection name a part of a map: give --map too")
    spark = session(args.master, "honorbound-drift", fmt == "delta")
    from pyspark.errors import AnalysisException

    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    try:
        report = drift(
            read(spark, args.input, fmt),
            table=args.input,
            columns=columns,
            sample_rows=args.sample_rows,
            system=system,
            collection=collection,
            retention_field=args.retention_field,
            retention_period=args.retention,
        )
    except AnalysisException as exc:
        _fail(_analysis(exc, args))
    text = json.dumps(report, indent=1, sort_keys=True)
    print(text)
    if args.report:
        _write_private(args.report, text)


def _collection(path: str, system: str | None, name: str | None) -> tuple[CollectionMap, str]:
    from honorbound.policy.problems import DeclarationError
    from honorbound.systems.maps import load_text

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        _fail(f"{path}: cannot read the map ({exc.strerror})")
    try:
        systems = load_text(text, path)
    except DeclarationError as exc:
        _fail(str(exc))
    if system is None:
        if len(systems) != 1:
            _fail(f"{path} holds {len(systems)} datasets; name one with --system")
        chosen = systems[0]
    else:
        found = next((s for s in systems if s.key == system), None)
        if found is None:
            _fail(f"{path}: no dataset '{system}'; it has: {', '.join(s.key for s in systems)}")
        chosen = found
    if name is None:
        if len(chosen.collections) != 1:
            _fail(f"dataset '{chosen.key}' has several collections; name one with --collection")
        return chosen.collections[0], chosen.key
    coll = chosen.collection(name)
    if coll is None:
        known = ", ".join(c.name for c in chosen.collections)
        _fail(f"dataset '{chosen.key}' has no collection '{name}'; it has: {known}")
    return coll, chosen.key


def _analysis(exc: Exception, args: argparse.Namespace) -> str:
    message = str(exc)
    if "PATH_NOT_FOUND" in message or "Path does not exist" in message:
        return f"{args.input}: no such file or directory"
    if "PATH_ALREADY_EXISTS" in message or "already exists" in message:
        return f"{getattr(args, 'output', args.input)}: already exists (use --mode overwrite)"
    # Spark's analysis messages name paths and columns, not row values.
    return f"Spark could not run the job: {message.splitlines()[0][:300]}"


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        if args.command == "redact":
            _redact(args)
        else:
            _drift(args)
    except JobError as exc:
        _fail(str(exc))
    except Exception as exc:
        # A task that failed on the cluster: Spark's message may quote the row it was reading,
        # so only its kind is printed here; the executor logs hold the rest.
        if type(exc).__module__.split(".")[0] not in ("pyspark", "py4j"):
            raise
        print(
            f"error: the Spark job failed ({type(exc).__name__}); see the driver and executor "
            "logs (the Spark UI) for the task that failed",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
