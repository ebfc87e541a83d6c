from __future__ import annotations

import pytest
from faker import Faker

from tests.recordings import synth


@pytest.fixture(scope="session")
def call() -> synth.Call:
    """A two-channel call: agent (channel 0) and customer (channel 1) in two espeak-ng voices;
    the customer reads a card number, its security code, an SSN and a phone number, then keys
    a card number on the keypad (DTMF by sox). Every value is made by Faker."""
    if (reason := synth.tools_missing()) is not None:
        pytest.skip(reason)
    fake = Faker()
    fake.seed_instance(23)
    b = synth.Builder(seed=23)
    b.say(0, "thank you for calling how can I help")
    b.say(1, "I want to pay my bill")
    b.say(0, "please read me your card number")
    b.say(1, "it is")
    b.digits(1, fake.credit_card_number(card_type="visa16"), "card")
    b.say(0, "and the security code")
    b.digits(1, fake.credit_card_security_code(card_type="visa16"), "cvv")
    b.say(0, "to verify you what is your social")
    b.say(1, "my social is")
    b.digits(1, fake.ssn(), "ssn")
    b.say(0, "and a number to call you back")
    b.say(1, "call me at")
    b.digits(1, "212555" + fake.numerify("01##"), "phone")
    b.say(0, "now please key your card number")
    b.keypad(fake.credit_card_number(card_type="visa16"))
    b.say(0, "thank you goodbye")
    return b.build()


@pytest.fixture(scope="session")
def card_call() -> synth.Call:
    """A short call with a card number read aloud and nothing else sensitive: no card code,
    no keypad entry (a call whose original may be kept)."""
    if (reason := synth.tools_missing()) is not None:
        pytest.skip(reason)
    fake = Faker()
    fake.seed_instance(5)
    b = synth.Builder(seed=5)
    b.say(0, "please read me your card number")
    b.say(1, "it is")
    b.digits(1, fake.credit_card_number(card_type="visa16"), "card")
    b.say(0, "thank you")
    return b.build()
