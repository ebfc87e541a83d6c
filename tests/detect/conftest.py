"""Synthetic values for detection tests: Faker with a fixed seed, every value remembered so the
session-end log check can prove none of it was logged."""

from __future__ import annotations

import pytest
from faker import Faker

from tests.support.people import remember


class Fakes:
    def __init__(self) -> None:
        self.fake = Faker("en_US")
        self.fake.seed_instance(5150)

    def card(self, kind: str = "visa16") -> str:
        value = str(self.fake.credit_card_number(card_type=kind))
        remember(value)
        return value

    def ssn(self) -> str:
        value = str(self.fake.ssn())
        remember(value)
        return value

    def email(self) -> str:
        value = str(self.fake.email())
        remember(value)
        return value

    def first_last(self) -> tuple[str, str]:
        first, last = self.fake.first_name(), self.fake.last_name()
        remember(f"{first} {last}")
        return first, last


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return body + str((10 - total % 10) % 10)


SPOKEN = {
    "0": "oh",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}


def speak(digits: str, group: int = 4, sep: str = ", ") -> str:
    """Digits the way speech-to-text writes them: "four one one one, one one ..."."""
    words = [SPOKEN[d] for d in digits]
    return sep.join(" ".join(words[i : i + group]) for i in range(0, len(words), group))
