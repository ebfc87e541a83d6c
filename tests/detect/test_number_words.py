"""Compound number words read as the number they say ("eight hundred twenty" is 820, not
80020; "mil novecientos ochenta y cuatro" is 1984), checked against the call generator's speller
(tests/detect/spoken_calls.py), independent of the engine's word tables, over every value in
range."""

from __future__ import annotations

import pytest

from honorbound.detect import scan
from honorbound.detect.digits import iter_runs
from honorbound.detect.prepared import Prepared
from tests.detect.spoken_calls import EN_UNITS, say_pair, say_year


def en_hundreds(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    return f"{EN_UNITS[hundreds]} hundred" + (
        "" if rest == 0 else " " + say_pair(f"{rest:02d}", "en")
    )


def es_year(year: int) -> str:
    return say_year(year, "es")


def runs(text: str) -> list[str]:
    return [run.digits for run in iter_runs(Prepared(text))]


def test_every_english_hundred_reads_as_its_three_digits() -> None:
    # Units after a bare hundred stay digits of their own (800 555: a toll-free number),
    # so the values with a unit-only remainder (101-109, ...) are dictation, not numbers.
    wrong = {
        n: runs(en_hundreds(n))
        for n in range(100, 1000)
        if not 0 < n % 100 < 10 and runs(en_hundreds(n)) != [str(n)]
    }
    assert not wrong, dict(list(wrong.items())[:5])


def test_every_spanish_year_reads_as_its_four_digits() -> None:
    wrong = {y: runs(es_year(y)) for y in range(1900, 2100) if runs(es_year(y)) != [str(y)]}
    assert not wrong, {y: (es_year(y), r) for y, r in list(wrong.items())[:5]}


@pytest.mark.parametrize("area", [415, 212, 818, 650, 973])
def test_an_area_code_said_as_a_hundred_is_the_phone(area: int) -> None:
    spoken = f"{en_hundreds(area)}, five five five, oh one four seven"
    text = f"Customer: my phone number is {spoken}"
    assert [(f.type, f.text) for f in scan(text)] == [("PHONE_NUMBER", spoken)]


def test_a_spanish_birth_year_in_words_is_covered() -> None:
    for year in (1948, 1984, 2001, 2010):
        spoken = f"el cinco de mayo de {es_year(year)}"
        text = f"Cliente: nací {spoken}"
        found = [(f.type, f.text) for f in scan(text)]
        assert found and found[0][0] == "DATE_OF_BIRTH", (text, found)
        assert found[0][1].endswith(es_year(year).split()[-1]), (text, found)
