"""Every redaction operator, on written and spoken values."""

from __future__ import annotations

import os
import re

import pytest

from honorbound.detect import OperatorError, redact, reveal, scan
from honorbound.detect.validators import luhn_ok
from tests.detect.conftest import Fakes, speak


def test_replace_and_redact(fakes: Fakes) -> None:
    card, email = fakes.card(), fakes.email()
    text = f"card {card} mail {email}. please stop calling me"
    assert redact(text).text == "card <CREDIT_CARD> mail <EMAIL_ADDRESS>. please stop calling me"
    assert redact(text, "redact").text == "card  mail . please stop calling me"
    # Findings keep offsets into the original text, intents included.
    done = redact(text)
    assert [f.type for f in done.findings] == ["CREDIT_CARD", "EMAIL_ADDRESS", "OPT_OUT_REQUEST"]
    assert text[done.findings[0].start : done.findings[0].end] == card


def test_mask_keeps_last_four(fakes: Fakes) -> None:
    card = fakes.card()
    grouped = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    assert redact(f"card {grouped}", "mask").text == f"card **** **** **** {card[-4:]}"
    spoken = speak(card)
    assert redact(f"card {spoken}", "mask").text == f"card {'*' * 12}{card[-4:]}"


def test_pseudonym_is_keyed_and_stable_across_forms(fakes: Fakes) -> None:
    card = fakes.card()
    key, other_key = os.urandom(32), os.urandom(32)
    written = redact(f"card {card}", "pseudonym", key=key).text
    spoken = redact(f"my card is {speak(card)}", "pseudonym", key=key).text
    token = re.search(r"<CREDIT_CARD_[0-9a-f]{16}>", written)
    assert token and token.group() in spoken
    assert token.group() not in redact(f"card {card}", "pseudonym", key=other_key).text
    with pytest.raises(OperatorError, match="needs a key"):
        redact(f"card {card}", "pseudonym")


def test_encrypt_round_trips_with_the_key_only(fakes: Fakes) -> None:
    card, email = fakes.card(), fakes.email()
    text = f"card {card} and {email}"
    key = os.urandom(32)
    sealed = redact(text, "encrypt", key=key).text
    assert card not in sealed and email not in sealed
    assert "<enc:CREDIT_CARD:" in sealed
    assert reveal(sealed, key) == text
    with pytest.raises(OperatorError, match="does not open"):
        reveal(sealed, os.urandom(32))
    with pytest.raises(OperatorError, match="16, 24 or 32"):
        redact(text, "encrypt", key=b"short")


def test_synthetic_keeps_shape_and_is_consistent_within_a_document(fakes: Fakes) -> None:
    card, email = fakes.card(), fakes.email()
    first, last = fakes.first_last()
    grouped = "-".join(card[i : i + 4] for i in range(0, 16, 4))
    text = (
        f"Agent: name? Customer: my name is {first} {last}. card {grouped}, "
        f"email {email}. Agent: so card {grouped} and {email}, right?"
    )
    out = redact(text, "synthetic").text
    assert card[4:] not in out.replace("-", "") and email not in out and last not in out
    cards = re.findall(r"\d{4}-\d{4}-\d{4}-\d{4}", out)
    assert len(cards) == 2 and cards[0] == cards[1] and luhn_ok(cards[0].replace("-", ""))
    assert [f.type for f in scan(out) if f.type != "PERSON"] == [
        "CREDIT_CARD",
        "EMAIL_ADDRESS",
        "CREDIT_CARD",
        "EMAIL_ADDRESS",
    ]
    emails = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", out)
    assert emails[0] == emails[1]


def test_unknown_operator_is_a_clear_error() -> None:
    with pytest.raises(OperatorError, match="unknown operator 'blur'"):
        redact("text", "blur")


def test_synthetic_never_repeats_a_word_of_the_original() -> None:
    # Faker's pool of surnames is small; the surrogate is drawn again when it repeats one.
    for last in ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Hernandez"):
        text = f"Customer: my name is John {last}."
        for _ in range(30):
            words = redact(text, "synthetic").text.split(" is ", 1)[1].rstrip(".").split()
            assert last not in words and "John" not in words
