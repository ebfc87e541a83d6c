"""Hostile inputs finish in bounded time (linear passes, no catastrophic backtracking)."""

from __future__ import annotations

import time

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
