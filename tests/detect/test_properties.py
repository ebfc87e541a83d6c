"""Properties that hold for any text: offsets index the original, PII findings never overlap,
and redaction removes what was found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from honorbound.detect import INTENT_TYPES, redact, scan
from tests.detect.conftest import luhn_complete, speak

PIECES = st.sampled_from(
    [
        "my card is ",
        "four one one one ",
        "oh ",
        "double ",
        "triple ",
        ", ",
        "\nCustomer: ",
        "4111 ",
        "1111",
        "-",
        "ssn ",
        "123-45-6789 ",
        "call me at ",
        "(212) 555-0147",
        " at gmail dot com",
        "john dot smith",
        "my name is Maria Lopez ",
        "stop calling me ",
        "İ",
        "😀",
        "$",
        "order ",
        " ",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=25).map("".join))
def test_offsets_and_overlaps(text: str) -> None:
    found = scan(text)
    pii = [f for f in found if f.type not in INTENT_TYPES]
    for finding in found:
        assert 0 <= finding.start < finding.end <= len(text)
        assert text[finding.start : finding.end] == finding.text
    for a, b in zip(pii, pii[1:], strict=False):
        assert a.end <= b.start
    redacted = redact(text, "replace", findings=found).text
    for finding in pii:
        assert f"<{finding.type}>" in redacted


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=10**14, max_value=10**15 - 1), st.sampled_from(["4", "5", "3"]))
def test_any_luhn_card_is_found_written_and_spoken(body: int, first: str) -> None:
    digits = luhn_complete(first + str(body)[1:])
    if first == "5":
        digits = luhn_complete("5" + str(1 + body % 5) + str(body)[2:])
    if first == "3":
        digits = luhn_complete("37" + str(body)[2:14])  # Amex, 15 digits
    for form in (digits, speak(digits)):
        text = f"Customer: my card number is {form} thanks"
        assert [f.type for f in scan(text)] == ["CREDIT_CARD"], form
        assert digits[-4:] not in redact(text).text


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=10**14, max_value=10**15 - 1),
    st.sampled_from(["4", "51", "37"]),
    st.integers(min_value=2, max_value=15),
    st.integers(min_value=1, max_value=9),
)
def test_a_card_with_one_misheard_digit_after_a_card_word_is_still_the_card(
    body: int, prefix: str, position: int, shift: int
) -> None:
    """A PCI assessor reads "my card number is ..." with one digit wrong (Luhn fails) as the
    card: the whole number is redacted. The same digits after an order word are not a card."""
    length = 15 if prefix == "37" else 16
    valid = luhn_complete((prefix + str(body))[: length - 1])
    position = min(position, length - 1)
    wrong = valid[:position] + str((int(valid[position]) + shift) % 10) + valid[position + 1 :]
    # Luhn catches every single-digit change, computed here, not by the engine.
    assert luhn_complete(wrong[:-1]) != wrong
    for form in (wrong, speak(wrong), " ".join(wrong[i : i + 4] for i in range(0, length, 4))):
        text = f"Customer: my card number is {form} thanks"
        found = scan(text)
        assert [f.type for f in found] == ["CREDIT_CARD"], form
        assert found[0].text.strip(" ,") == form
        assert wrong[-4:] not in redact(text).text.replace(" ", "")
        assert scan(f"Customer: my order number is {form} thanks") == [], form
