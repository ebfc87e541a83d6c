"""No partial value (issue 16): after redact(), nothing of a card, SSN, phone number, email or
date of birth is left said, however it was delivered.

The property runs `spoken_calls.py` (English, Spanish, code-switched; 555 and other
non-assignable area codes; several card brands; split, echoed, read back, corrected) and
reads the redacted text with that module's own number-word oracle, which shares no code with
the engine: no four consecutive digits of the value may still be said, no email local part
may still be written.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honorbound.detect import redact, scan
from tests.detect.spoken_calls import Generator, leaked_digits, surviving_digits


def test_the_oracle_reads_number_words_itself() -> None:
    said = (
        "cuarenta y uno once veintidós, five five oh <PHONE_NUMBER> mil novecientos sesenta y ocho"
    )
    assert surviving_digits(said) == ["411122550", "1968"]
    assert surviving_digits("ochocientos cinco cinco cinco") == ["800555"]
    assert leaked_digits("5551234567", "my phone is <PHONE_NUMBER> five six seven") == []
    assert leaked_digits("5551234567", "my phone is <PHONE_NUMBER> four five six seven") == ["4567"]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_no_digits_or_local_part_survive(seed: int) -> None:
    call = Generator(seed).call()
    result = redact(call.text)
    if call.entity == "EMAIL_ADDRESS":
        local = call.value.split("@", 1)[0]
        parts = [p for p in local.split(".") if len(p) >= 4]
        assert not any(p in result.text.lower() for p in parts), (call.style, call.lang)
    else:
        assert leaked_digits(call.value, result.text) == [], (call.entity, call.style, call.lang)
    # Every letter and digit of every gold piece is inside a finding.
    for _kind, start, end in call.spans:
        covered = {i for f in result.findings for i in range(max(f.start, start), min(f.end, end))}
        left = [i for i in range(start, end) if call.text[i].isalnum() and i not in covered]
        assert not left, (call.entity, call.style, call.lang)


def _redacted(text: str) -> str:
    return redact(text).text


def test_a_phone_outside_the_numbering_plan_is_covered_whole() -> None:
    # 555 exchanges, N11 and 1xx exchanges: refused by the plan, said as a phone all the same.
    for text in (
        "customer: my phone is five five five one two three four five six seven",
        "cliente: mi número de teléfono es cinco cinco cinco uno dos tres cuatro cinco seis siete",
        "cliente: mi número es cuarenta y uno once veintidós treinta y tres cuarenta y cuatro",
        "caller: call me back at 411 911 0318",
    ):
        out = _redacted(text)
        assert out.endswith("<PHONE_NUMBER>"), out


def test_a_self_correction_leaves_nothing_of_the_number() -> None:
    out = _redacted(
        "customer: my phone is five five five no sorry "
        "five five six one two three four five six seven"
    )
    assert out == "customer: my phone is <PHONE_NUMBER> no sorry <PHONE_NUMBER>"


def test_a_finding_grows_over_its_whole_run_but_not_past_other_words() -> None:
    # A card found as a window of a longer run: the digit said after it is covered too.
    out = _redacted("my card is 4111 1111 1111 1111 2 thanks")
    assert out == "my card is <CREDIT_CARD> thanks"
    out = _redacted(
        "my card is four one one one one one one one one one one one one one one one uh six"
    )
    assert out == "my card is <CREDIT_CARD>"
    # A number after other words is another number.
    out = _redacted("my cell is 212 555 0100 and i have 3 kids")
    assert out == "my cell is <PHONE_NUMBER> and i have 3 kids"


def test_an_invalid_ssn_said_as_one_is_covered() -> None:
    assert _redacted("my social is 000 12 3456") == "my social is <US_SSN>"
    assert _redacted("mi seguro social es seis seis seis uno dos tres cuatro cinco seis") == (
        "mi seguro social es <US_SSN>"
    )


def test_a_value_read_back_far_from_it_is_covered() -> None:
    text = (
        "Customer: my card number is 4111 1111 1111 1111\n"
        "Agent: thank you, one moment while I bring up the file on my screen\n"
        "Agent: alright so what I have in front of me here is 4111 1111 1111 1111, right?"
    )
    out = _redacted(text)
    assert "1111" not in out and "4111" not in out
    ids = {f.value_id for f in scan(text)}
    assert len(ids) == 1  # the read-back is a piece of the same value


def test_spanish_dates_of_birth_in_words() -> None:
    for said in (
        "quince de octubre de mil novecientos sesenta y ocho",
        "primero de mayo del dos mil tres",
        "veintidós de mayo de mil novecientos ochenta",
        "5 de junio de mil novecientos noventa",
    ):
        assert _redacted(f"nací el {said}") == "nací el <DATE_OF_BIRTH>", said


def test_a_date_of_birth_read_back_is_a_date_of_birth() -> None:
    text = (
        "Customer: i was born march third nineteen seventy\n"
        "Agent: le repito march third nineteen seventy"
    )
    assert [f.type for f in scan(text)] == ["DATE_OF_BIRTH", "DATE_OF_BIRTH"]


def test_spanish_hundreds() -> None:
    assert _redacted("mi número es ochocientos cinco cinco cinco uno dos tres cuatro") == (
        "mi número es <PHONE_NUMBER>"
    )


def test_hard_negatives_stay_clear() -> None:
    for text in (
        "your order number is 5551234567",
        "the tracking number is one two three four five six seven eight nine",
        "your balance is 411 dollars and 91 cents",
        "ticket 123 45 6789 was closed",
        "mi número de pedido es cuatro uno uno nueve uno uno",
        # Ten digits outside the numbering plan next to a phone word and an order word.
        "mi número de pedido es 4119110318",
        "can you call me about ticket 4111223344",
        "text me the tracking number one two three one two three one two three four",
        "zip code 62704",
        "the meeting is at 10:30 on 12/05/2026",
    ):
        found = [f.type for f in scan(text) if f.type not in ("DATE_TIME",)]
        assert found == [], text


# Draws that leaked until 2026-12-08 (3 of 6,000 seeds): a tens word before digits said one by
# one ("ninety one one zero six five" is 90 1 1 0 6 5), twice; a phone number whose groups are
# each echoed twice on unlabelled lines. Kept as fixed cases beside the random draws.
FORMER_LEAKS = (2160, 3354, 5418)


@pytest.mark.parametrize("seed", FORMER_LEAKS)
def test_former_leaks(seed: int) -> None:
    call = Generator(seed).call()
    assert leaked_digits(call.value, redact(call.text).text) == []
