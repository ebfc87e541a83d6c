"""Hostile inputs finish in bounded time (linear passes, no catastrophic backtracking)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from honorbound.detect import redact, scan

CASES = {
    "10 MB single line of words": "a b 1 " * (10 * 1024 * 1024 // 6),
    "100k repeated digits": "4" * 100_000,
    "long run of 'one one one'": "one " * 250_000,
    "pathological whitespace": " \t" * 2_000_000 + "x",
    "many @ and dots": "a@b." * 500_000,
    "spelled letters": "spelled " + "a " * 1_000_000,
    "repeated cue": "my name is " * 200_000,
    "digit-dot runs": "1." * 2_000_000,
    # One line of number runs joined by fillers: each run's speaker is looked up once.
    "fillers between number words": "four uh " * 1_000_000,
    "acknowledged groups on many lines": "Customer: four one one one\nAgent: okay\n" * 100_000,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_finishes(name: str) -> None:
    text = CASES[name]
    started = time.perf_counter()
    scan(text)
    # Generous bound for a slow CI machine; on a laptop each case takes a few seconds.
    assert time.perf_counter() - started < 100, name


@pytest.mark.timeout(30)
def test_card_after_a_huge_digit_blob_is_still_found() -> None:
    text = "9" * 100_000 + " then card 4111 1111 1111 1111"
    assert [f.type for f in scan(text)] == ["CREDIT_CARD"]
    assert redact(text).text.endswith("then card <CREDIT_CARD>")


# The bound: a 10 MB single line is scanned in under 300 MB of resident memory.
MAX_RSS_MB = 300
TEN_MB = 10 * 1024 * 1024
SRC = Path(__file__).resolve().parents[2] / "src"

# The child builds its 10 MB line, scans it and prints its peak resident set (VmHWM, the
# kernel's high-water mark of the child's own memory). Not ru_maxrss from wait4/getrusage:
# Linux carries the parent's high-water mark across fork and exec, so a child of a 370 MB
# pytest worker would report 370 MB whatever it did.
_CHILD = f"""
import sys
from honorbound.detect import scan
unit = sys.argv[1]
text = (unit * ({TEN_MB} // len(unit) + 1))[:{TEN_MB}]
assert "\\n" not in text
scan(text)
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(int(peak[0]))
"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("unit", ["four uh ", "my name is "])
def test_ten_megabyte_line_stays_under_the_memory_bound(unit: str) -> None:
    """Peak RSS of a child process that scans one 10 MB line and nothing else, read from the
    kernel, not from anything the engine reports."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, unit], env=env, capture_output=True, text=True
    )
    assert child.returncode == 0, f"the scan of {unit!r} x 10 MB failed: {child.stderr[-500:]}"
    peak_mb = int(child.stdout.split()[-1]) / 1024  # VmHWM is in kB
    assert peak_mb < MAX_RSS_MB, f"{unit!r} x 10 MB peaked at {peak_mb:.0f} MB"
