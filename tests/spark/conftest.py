"""A local Spark (local[2]) for the whole session, and Faker transcripts to feed it."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.detect.conftest import Fakes, speak

pytest.importorskip("pyspark")

from pyspark.sql import SparkSession  # noqa: E402


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    # py4j logs every JVM call at DEBUG (the suite's log captures DEBUG and up).
    logging.getLogger("py4j").setLevel(logging.WARNING)
    # The Python workers must run this interpreter (where Honorbound is installed).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("honorbound-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def transcripts(fakes: Fakes, count: int, seed: int = 24) -> list[dict[str, object]]:
    """Contact-center lines with cards (written and spoken), SSNs, emails, names and phones."""
    rng = random.Random(seed)
    cards = [fakes.card() for _ in range(5)]
    out: list[dict[str, object]] = []
    for i in range(count):
        first, last = fakes.first_last()
        card = rng.choice(cards)
        shapes = [
            f"Customer: my card is {card}",
            f"Customer: card number {speak(card)}",
            f"Caller: social is {fakes.ssn()}",
            f"Agent: I have your email as {fakes.email()}, correct?",
            f"Caller: hi, my name is {first} {last}",
            f"Caller: call me at (212) 555-01{rng.randrange(10, 100)} after five",
            "Agent: thanks for calling, is there anything else?",
            f"Customer: my name is {first} {last} and my card is {card}",
        ]
        out.append({"id": i, "text": rng.choice(shapes)})
    return out


def write_jsonl(path: Path, records: list[dict[str, object]], extra: list[str] = ()) -> Path:
    lines = [json.dumps(r) for r in records] + list(extra)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def honorbound(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "honorbound", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
    )


def spark_job(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "honorbound.spark", "--master", "local[2]", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, **(env or {})},
    )


def read_lines(directory: Path) -> list[dict[str, object]]:
    """Every record of the JSON part files Spark wrote into `directory`."""
    out = []
    for part in sorted(directory.glob("part-*")):
        out += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
    return out
