"""Cards, SSN/ITIN, phones, bank and routing numbers: written, spoken, split, and the numbers
that must not be flagged."""

from __future__ import annotations

import pytest

from honorbound.detect import scan
from tests.detect.conftest import Fakes, luhn_complete, speak


def types(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan(text)]


@pytest.mark.parametrize(
    "kind", ["visa16", "visa13", "visa19", "mastercard", "amex", "discover", "jcb16", "diners"]
)
def test_cards_of_every_issuer(fakes: Fakes, kind: str) -> None:
    card = fakes.card(kind)
    text = f"sure, the number is {card} thanks"
    assert types(text) == [("CREDIT_CARD", card)]


def test_mastercard_two_series_and_nineteen_digits() -> None:
    for body in (
        "222100000000001",
        "272099999999999",
        "400000000000000000"[:18],
        "622126000000000",
    ):
        card = luhn_complete(body)
        assert types(f"card {card}") == [("CREDIT_CARD", card)], card


def test_grouped_and_chunked_cards(fakes: Fakes) -> None:
    card = fakes.card("visa16")
    grouped = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    dashed = "-".join(card[i : i + 4] for i in range(0, 16, 4))
    chunked = " ".join(card[i : i + 2] for i in range(0, 16, 2))  # ASR: "41 11 11 11 ..."
    keypad = " ".join(card) + " #"
    for written in (grouped, dashed, chunked, keypad):
        text = f"ok my card {written} and that's it"
        found = scan(text)
        assert [f.type for f in found] == ["CREDIT_CARD"], written
        assert text[found[0].start : found[0].end].replace(" #", "") == written.replace(" #", "")


def test_spoken_card_with_oh_double_and_triple() -> None:
    card = luhn_complete("455600011112223")  # made up, Luhn-completed
    spoken = speak(card)
    text = f"Customer: yeah it's {spoken}."
    found = scan(text)
    assert [f.type for f in found] == ["CREDIT_CARD"]
    assert text[found[0].start : found[0].end] == spoken
    # "double one", "triple two" and "oh" in one reading
    words = "four five five six, triple oh one, double one one two, double two three " + speak(
        card[-1]
    )
    assert [f.type for f in scan(f"card number {words}")] == ["CREDIT_CARD"]


def test_card_split_over_two_lines_of_the_same_speaker(fakes: Fakes) -> None:
    card = fakes.card("visa16")
    text = f"Agent: go ahead\nCustomer: it's {card[:8]}\nCustomer: {card[8:]}\nAgent: thanks"
    found = scan(text)
    assert [f.type for f in found] == ["CREDIT_CARD", "CREDIT_CARD"]
    assert "".join(text[f.start : f.end] for f in found) == card
    # A different speaker's number on the next line is not joined.
    other = f"Customer: it's {card[:8]}\nAgent: {card[8:]}"
    assert [f.type for f in scan(other)] == []


@pytest.mark.parametrize(
    "text",
    [
        "Your order number is {ref} and it ships Monday",
        "ticket {ref} has been escalated",
        "the confirmation number is {ref}",
        "reference {ref}",
    ],
)
def test_luhn_valid_references_are_not_cards(text: str) -> None:
    ref = luhn_complete("453201511283036")
    assert [f.type for f in scan(text.format(ref=ref))] == []


def test_non_luhn_numbers_amounts_and_times_are_nothing() -> None:
    for text in (
        "the reference is 4111 1111 1111 1112",
        "tracking 1234567890123456",
        "your balance is $4,532.15 due on the 5th",
        "the total came to 1,234,567.89 dollars",
        "I'll call back at 3:45 pm or 10:30",
        "order #88231 for 3 items",
        "it costs 19.99 plus 4.50 shipping",
    ):
        assert scan(text) == [], text


def test_ssn_written_spoken_and_invalid(fakes: Fakes) -> None:
    ssn = fakes.ssn()
    assert types(f"my ssn is {ssn}") == [("US_SSN", ssn)]
    digits = ssn.replace("-", "")
    spoken = speak(digits, group=3)
    assert types(f"social is {spoken}") == [("US_SSN", spoken)]
    # Unformatted nine digits without context are not claimed.
    assert types(f"code {digits}") == []
    for invalid in ("000-12-3456", "666-12-3456", "123-00-4567", "123-45-0000", "078-05-1120"):
        # Never issued, but said as a social security number: still redacted (issue 16, no
        # partial value), at a lower score than a valid one; without the word, not claimed.
        found = scan(f"ssn {invalid}")
        assert [(f.type, f.text, f.score) for f in found] == [("US_SSN", invalid, 0.7)], invalid
        assert types(f"ref {invalid}") == [], invalid


def test_itin_and_routing_number() -> None:
    assert types("my itin is 912-70-1234") == [("US_ITIN", "912-70-1234")]
    assert types("routing number 021000021") == [("ABA_ROUTING_NUMBER", "021000021")]
    assert types("routing number 021000022") == []
    assert types("checking account number 000123456789") == [("US_BANK_NUMBER", "000123456789")]


def test_phones_nanp_international_and_spoken() -> None:
    assert types("call me at (212) 555-0147") == [("PHONE_NUMBER", "(212) 555-0147")]
    assert types("reach me on 212.555.0147 tonight") == [("PHONE_NUMBER", "212.555.0147")]
    assert types("my number is +44 20 7946 0958") == [("PHONE_NUMBER", "+44 20 7946 0958")]
    spoken = "two one two, five five five, oh one four seven"
    assert types(f"call me back on {spoken}") == [("PHONE_NUMBER", spoken)]
    assert types("five five oh, double two, three four five six seven") == [
        ("PHONE_NUMBER", "five five oh, double two, three four five six seven")
    ]
    assert types("eight hundred five five five oh one four seven") == [
        ("PHONE_NUMBER", "eight hundred five five five oh one four seven")
    ]


def test_cvv_and_expiry_only_in_context(fakes: Fakes) -> None:
    card = fakes.card("visa16")
    text = f"card {card} expires 04/29 and the cvv is 123"
    assert types(text) == [
        ("CREDIT_CARD", card),
        ("CARD_EXPIRY", "04/29"),
        ("CVV", "123"),
    ]
    assert types("the security code on the back is four five six") == [("CVV", "four five six")]
    assert types("I have 123 apples and 04/29 was a Tuesday") == []


def test_offsets_point_into_the_original_text(fakes: Fakes) -> None:
    card = fakes.card("mastercard")
    text = f"Ünïcödé prefix 😀 — card {card[:4]} {card[4:8]} {card[8:12]} {card[12:]} ✓"
    (finding,) = scan(text)
    assert text[finding.start : finding.end] == finding.text
    assert finding.text.replace(" ", "") == card


def test_exit_code_numbers_and_last_four_of_a_social() -> None:
    assert types("call me on 0044 20 7946 0958") == [("PHONE_NUMBER", "0044 20 7946 0958")]
    assert types("dial 011 44 20 7946 0958") == [("PHONE_NUMBER", "011 44 20 7946 0958")]
    text = "Agent: the last four of your social?\nCustomer: six seven eight nine"
    assert types(text) == [("US_SSN", "six seven eight nine")]
    assert types("the last four of your order are 6789") == []
