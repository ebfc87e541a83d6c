"""The drift scan of a lake table: sampled per partition, classified with the connected-systems
code, compared with a dataset map; old rows counted exactly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from honorbound.spark.drift import drift
from tests.detect.conftest import Fakes
from tests.spark.conftest import spark_job

pytestmark = pytest.mark.spark

AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
MAP = """\
dataset:
  - fides_key: lake
    name: Chat archive
    meta:
      honorbound:
        connection: {type: files, url: "file:///lake"}
        collections:
          chats: {path: "chats/*.parquet", format: parquet, retention_field: created_at}
    collections:
      - name: chats
        fields:
          - {name: chat_id, data_categories: [system.operations]}
          - {name: notes, data_categories: [system.operations]}
          - {name: phone, data_categories: [user.contact.phone_number]}
          - {name: created_at, data_categories: [system.operations]}
"""


def _rows(fakes: Fakes, n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        rows.append(
            {
                "chat_id": f"chat-{i}",
                "notes": f"customer wrote from {fakes.email()} about a refund",
                "phone": f"(212) 555-01{i % 90 + 10}",
                "comment": f"see {fakes.email()}" if i % 20 == 0 else "no comment",
                # Noon, so the day count does not depend on a time zone.
                "created_at": AS_OF - dt.timedelta(days=i, hours=12),
            }
        )
    return rows


def test_sampled_per_partition_and_classified(spark: SparkSession, fakes: Fakes) -> None:
    rows = _rows(fakes, 300)
    df = spark.createDataFrame(rows).repartition(3)
    report = drift(df, table="chats", sample_rows=20, as_of=AS_OF)
    assert report["partitions_sampled"] == 3 and report["rows_sampled"] == 60
    fields = {f["field"]: f for f in report["fields"]}
    assert fields["notes"]["found"] == ["user.contact.email"]
    assert fields["notes"]["sampled"] == 60
    assert "user.contact.phone_number" in fields["phone"]["found"]
    # One value in twenty holds an email: under classify.yaml's min_share, on the totals.
    assert fields["comment"]["found"] == []
    assert fields["chat_id"]["found"] == []
    undeclared = {u["field"]: u for u in report["undeclared_fields"]}
    assert set(undeclared) == {"notes", "phone"}  # no map: nothing is declared
    assert undeclared["notes"]["values_with_it"] == 60
    text = json.dumps(report)
    assert all(str(r["notes"]).split()[3] not in text for r in rows)  # names and counts only


def test_job_against_a_map_with_retention(fakes: Fakes, tmp_path: Path) -> None:
    rows = _rows(fakes, 300)
    table = tmp_path / "chats"
    table.mkdir()
    for part in range(3):
        chunk = rows[part * 100 : (part + 1) * 100]
        pq.write_table(pa.Table.from_pylist(chunk), table / f"part-{part}.parquet")
    maps = tmp_path / "lake.yaml"
    maps.write_text(MAP)
    report_file = tmp_path / "report.json"
    done = spark_job(
        "drift", str(table), "--format", "parquet", "--map", str(maps), "--collection", "chats",
        "--retention", "P90D", "--sample-rows", "50", "--report", str(report_file),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(report_file.read_text())
    assert report["system"] == "lake" and report["collection"] == "chats"
    assert report["rows_sampled"] == 50 * report["partitions_sampled"]
    undeclared = {u["field"]: u for u in report["undeclared_fields"]}
    assert set(undeclared) == {"notes"}  # phone is declared; comment is under the share
    assert undeclared["notes"]["categories"] == ["user.contact.email"]
    assert undeclared["notes"]["field_mapped"] is True
    # Retention is counted over the whole table (300 rows), not over the 150 sampled.
    older = report["older_than_retention"]
    assert len(older) == 1 and older[0]["field"] == "created_at"
    expected = sum(
        1 for r in rows if r["created_at"] < dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    )
    assert older[0]["rows_older"] == expected
    text = done.stdout + done.stderr + report_file.read_text()
    assert all(str(r["notes"]).split()[3] not in text for r in rows)
