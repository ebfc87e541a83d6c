"""The Spark job against `honorbound redact` on the same input, and its pseudonyms across
partitions, checked against an HMAC computed here (not with the operator's code)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from honorbound.spark import Stats, redact_columns
from honorbound.spark.lake import read
from tests.detect.conftest import Fakes, speak
from tests.spark.conftest import honorbound, read_lines, spark_job, transcripts, write_jsonl

pytestmark = pytest.mark.spark

KEY_HEX = "5a" * 32


def _cli(source: Path, *args: str) -> dict[object, dict[str, object]]:
    done = honorbound("redact", str(source), "--on-error", "skip", *args)
    assert done.returncode == 0, done.stderr.decode()
    return {r["id"]: r for r in map(json.loads, done.stdout.decode().splitlines())}


def _rows(df: object) -> dict[object, dict[str, object]]:
    return {r["id"]: r.asDict(recursive=True) for r in df.collect()}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("operator", "extra"),
    [
        ("replace", ()),
        ("mask", ()),
        ("pseudonym", ("--key-env", "SPARK_TEST_KEY")),
        ("replace", ("--entities", "CREDIT_CARD,PERSON")),
    ],
)
def test_same_output_as_honorbound_redact(
    spark: SparkSession,
    fakes: Fakes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    operator: str,
    extra: tuple[str, ...],
) -> None:
    monkeypatch.setenv("SPARK_TEST_KEY", KEY_HEX)
    source = write_jsonl(tmp_path / "calls.jsonl", transcripts(fakes, 400))
    expected = _cli(source, "--operator", operator, *extra)
    entities = extra[1].split(",") if extra[:1] == ("--entities",) else None
    key = bytes.fromhex(KEY_HEX) if operator == "pseudonym" else None
    df = read(spark, str(source), "jsonl").repartition(3)
    got = _rows(redact_columns(df, ["text"], operator, key=key, entities=entities))
    assert len(got) == len(expected) == 400
    assert got == expected
    # The comparison is not vacuous: most lines had something to redact.
    changed = sum(1 for r in expected.values() if r["findings"])
    assert changed > 150
    if entities is not None:
        assert set(_by_type(expected.values())) == set(entities)


def test_job_output_equals_cli_output_with_a_corrupt_row(fakes: Fakes, tmp_path: Path) -> None:
    records = transcripts(fakes, 120)
    card = fakes.card()
    broken = '{"id": 9999, "text": "my card is ' + card  # not JSON: cut short
    source = write_jsonl(tmp_path / "calls.jsonl", records[:60], [broken])
    with source.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records[60:])
    expected = _cli(source, "--operator", "mask")
    out = tmp_path / "out"
    summary = tmp_path / "summary.json"
    done = spark_job(
        "redact", str(source), str(out), "--operator", "mask", "--partitions", "2",
        "--summary", str(summary),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = {r["id"]: r for r in read_lines(out)}
    assert got == expected and len(got) == 120
    counted = json.loads(summary.read_text())
    assert counted["rows"] == 120 and counted["corrupt_rows"] == 1
    assert counted["findings"] == _by_type(expected.values())
    assert counted["bytes_in"] == sum(len(str(r["text"]).encode()) for r in records)
    assert counted["bytes_out"] == sum(len(str(r["text"]).encode()) for r in expected.values())
    # The summary table is printed; the corrupt line's content is printed nowhere.
    assert re.search(r"corrupt rows \(left out\)\s+1\b", done.stdout)
    assert card not in done.stdout + done.stderr
    assert summary.stat().st_mode & 0o777 == 0o600
    parts = list(out.glob("part-*"))
    assert parts and all(p.stat().st_mode & 0o777 == 0o600 for p in parts)


def _by_type(records: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:  # type: ignore[attr-defined]
        for f in r["findings"]:
            counts[f["type"]] = counts.get(f["type"], 0) + 1
    return counts


def _oracle(key: bytes, kind: str, canonical: str) -> str:
    digest = hmac.new(key, f"{kind}\x00{canonical}".encode(), hashlib.sha256).hexdigest()
    return f"<{kind}_{digest[:16]}>"


def test_pseudonyms_are_equal_across_partitions(spark: SparkSession, fakes: Fakes) -> None:
    key = bytes.fromhex(KEY_HEX)
    card = fakes.card()
    rows = []
    for i in range(400):
        said = card if i % 2 else speak(card)
        rows.append((i, f"Customer: my card is {said}", f"Agent: confirming {card}"))
    df = (
        spark.createDataFrame(rows, "id long, caller string, agent string")
        .repartition(4)
        .withColumn("partition", F.spark_partition_id())
    )
    stats = Stats(spark)
    out = redact_columns(df, ["caller", "agent"], "pseudonym", key=key, stats=stats).collect()
    assert len({r["partition"] for r in out}) == 4  # the card really was in every partition
    tokens = set()
    for r in out:
        tokens |= set(re.findall(r"<CREDIT_CARD_[0-9a-f]{16}>", r["caller"] + r["agent"]))
        assert card not in r["caller"] + r["agent"]
        assert [f["type"] for f in r["caller_findings"]] == ["CREDIT_CARD"]
    assert tokens == {_oracle(key, "CREDIT_CARD", card)}
    summary = stats.summary()
    assert summary.rows == 400 and summary.findings == {"CREDIT_CARD": 800}


def test_synthetic_surrogates_are_consistent_within_a_row(
    spark: SparkSession, fakes: Fakes
) -> None:
    names = [fakes.first_last() for _ in range(20)]
    rows = [
        (i, f"Caller: hi, my name is {first} {last}", f"Agent: thank you {first} {last}")
        for i, (first, last) in enumerate(names)
    ]
    df = spark.createDataFrame(rows, "id long, caller string, agent string").repartition(2)
    out = {r["id"]: r for r in redact_columns(df, ["caller", "agent"], "synthetic").collect()}
    for i, (first, last) in enumerate(names):
        r = out[i]
        assert f"{first} {last}" not in r["caller"] + r["agent"]
        made = r["caller"].removeprefix("Caller: hi, my name is ")
        assert made and r["agent"] == f"Agent: thank you {made}"


def test_scan_columns_match_honorbound_scan_and_encrypt_reveals(
    spark: SparkSession, fakes: Fakes, tmp_path: Path
) -> None:
    from honorbound.detect import reveal
    from honorbound.spark import scan_columns

    records = transcripts(fakes, 150)
    source = write_jsonl(tmp_path / "calls.jsonl", records)
    done = honorbound("scan", str(source))
    assert done.returncode == 0, done.stderr.decode()
    expected = {r["id"]: r["findings"] for r in map(json.loads, done.stdout.decode().splitlines())}
    df = read(spark, str(source), "jsonl").repartition(2)
    scanned = {r["id"]: r for r in scan_columns(df, ["text"]).collect()}
    originals = {r["id"]: r["text"] for r in records}
    for ident, findings in expected.items():
        row = scanned[ident].asDict(recursive=True)
        assert row["findings"] == findings and row["text"] == originals[ident]
    key = bytes.fromhex(KEY_HEX)
    sealed = redact_columns(df, ["text"], "encrypt", key=key).collect()
    assert any("<enc:" in r["text"] for r in sealed)
    assert {r["id"]: reveal(r["text"], key) for r in sealed} == originals
