"""Formats in and out (Parquet, CSV), bad input as a sentence and exit 2, and the engine's
import staying free of Spark."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from honorbound.spark import JobError, redact_columns
from honorbound.spark.lake import read
from tests.detect.conftest import Fakes
from tests.spark.conftest import honorbound, spark_job, transcripts, write_jsonl

pytestmark = pytest.mark.spark


def test_parquet_in_parquet_out_with_two_text_columns(fakes: Fakes, tmp_path: Path) -> None:
    lines = transcripts(fakes, 200)
    table = pa.table(
        {
            "call_id": [f"c{r['id']}" for r in lines],
            "caller": [str(r["text"]) for r in lines],
            "agent": [str(lines[-1 - i]["text"]) for i in range(len(lines))],
            "minutes": list(range(len(lines))),
        }
    )
    source = tmp_path / "calls.parquet"
    pq.write_table(table, source)
    # The oracle: the command line over the same texts, one column at a time.
    jsonl = write_jsonl(
        tmp_path / "caller.jsonl",
        [{"id": i, "text": t} for i, t in enumerate(table["caller"].to_pylist())],
    )
    cli = [json.loads(x) for x in honorbound("redact", str(jsonl)).stdout.decode().splitlines()]
    out = tmp_path / "out"
    done = spark_job("redact", str(source), str(out), "--columns", "caller,agent")
    assert done.returncode == 0, done.stderr
    got = pq.read_table(out).to_pylist()
    assert len(got) == 200
    by_call = {r["call_id"]: r for r in got}
    for i, expected in enumerate(cli):
        row = by_call[f"c{i}"]
        assert row["caller"] == expected["text"]
        assert row["caller_findings"] == expected["findings"]
        assert row["minutes"] == i  # other columns pass through untouched
    assert {"agent_findings", "caller_findings"} <= set(got[0])


def test_csv_row_with_wrong_field_count_is_counted_not_fatal(fakes: Fakes, tmp_path: Path) -> None:
    source = tmp_path / "chats.csv"
    card = fakes.card()
    with source.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "text"])
        for r in transcripts(fakes, 50):
            w.writerow([r["id"], r["text"]])
        handle.write(f'77,"my card is {card}",surplus,fields\n')
    out = tmp_path / "out"
    summary = tmp_path / "s.json"
    done = spark_job("redact", str(source), str(out), "--summary", str(summary))
    assert done.returncode == 0, done.stderr
    counted = json.loads(summary.read_text())
    assert counted["rows"] == 50 and counted["corrupt_rows"] == 1
    rows = []
    for part in sorted(out.glob("part-*.csv")):
        with part.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    assert len(rows) == 50 and "77" not in {r["id"] for r in rows}
    assert all(isinstance(json.loads(r["findings"]), list) for r in rows)
    assert card not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--operator", "pseudonym"], "needs --key-file or --key-env"),
        (["--operator", "pseudonym", "--key-env", "NOT_SET_ANYWHERE"], "is not set"),
        (["--entities", "CREDIT_CARDS"], "unknown type 'CREDIT_CARDS'"),
        (["--format", "orc"], "invalid choice: 'orc'"),
    ],
)
def test_bad_options_are_a_sentence_and_exit_2(
    fakes: Fakes, tmp_path: Path, args: list[str], says: str
) -> None:
    source = write_jsonl(tmp_path / "calls.jsonl", transcripts(fakes, 5))
    done = spark_job("redact", str(source), str(tmp_path / "out"), *args)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        (["transcript"], "no column 'transcript' in the input; its columns are: id, text"),
        (["id"], "column 'id' holds bigint, not text"),
        ([], "name at least one text column"),
    ],
)
def test_bad_columns_are_named(
    spark: SparkSession, fakes: Fakes, tmp_path: Path, columns: list[str], says: str
) -> None:
    source = write_jsonl(tmp_path / "calls.jsonl", transcripts(fakes, 5))
    with pytest.raises(JobError) as caught:
        redact_columns(read(spark, str(source), "jsonl"), columns)
    assert says in str(caught.value)


def test_missing_input_and_existing_output(fakes: Fakes, tmp_path: Path) -> None:
    gone = spark_job("redact", str(tmp_path / "nope.parquet"), str(tmp_path / "out"))
    assert gone.returncode == 2 and "no such file or directory" in gone.stderr
    source = write_jsonl(tmp_path / "calls.jsonl", transcripts(fakes, 5))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("x")
    there = spark_job("redact", str(source), str(tmp_path / "out"))
    assert there.returncode == 2 and "already exists (use --mode overwrite)" in there.stderr
    again = spark_job("redact", str(source), str(tmp_path / "out"), "--mode", "overwrite")
    assert again.returncode == 0, again.stderr


def test_the_engine_and_the_cli_do_not_import_spark() -> None:
    code = (
        "import sys, honorbound.detect, honorbound.detect.records, honorbound.cli.detect;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
