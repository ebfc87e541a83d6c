"""`intents.said` on generated conversations (tests/intents/conversations.py): every request
the customer makes acts, with the right channel or request type; nothing acts when the agent
says the words, or the customer negates, questions or supposes them. The detector is the real
one (`honorbound.detect.scan`), through its public API."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honorbound.intents import said
from tests.intents import conversations


def _read(case: conversations.Case) -> list[said.Said]:
    return said.read(
        case.text, said.intent_spans(case.text), channel=case.channel, direction="inbound"
    )


def _check_positive(case: conversations.Case) -> None:
    acting = [s for s in _read(case) if s.acts]
    assert acting, case
    assert {s.kind for s in acting} == {case.kind}, case
    first = acting[0]
    assert first.speaker == "customer"
    if case.kind == said.OPT_OUT:
        assert first.channel == case.opt_out_channel, (case, first)
    else:
        assert first.request_type == case.request_type, (case, first)


def _check_negative(case: conversations.Case) -> None:
    acting = [(s.kind, case.text[s.start : s.end]) for s in _read(case) if s.acts]
    assert not acting, (case, acting)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_a_customers_request_acts(seed: int) -> None:
    _check_positive(conversations.positive(random.Random(seed)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_hard_negatives_do_not_act(seed: int) -> None:
    _check_negative(conversations.negative(random.Random(seed)))


def test_rates_on_a_fixed_sample() -> None:
    """The same generator, 600 conversations each way: no miss, no false act."""
    rng = random.Random(20261203)
    misses = [c for c in (conversations.positive(rng) for _ in range(600)) if not _acts_right(c)]
    false = [c for c in (conversations.negative(rng) for _ in range(600)) if _acts_at_all(c)]
    assert not misses, misses[:3]
    assert not false, false[:3]


def _acts_right(case: conversations.Case) -> bool:
    try:
        _check_positive(case)
    except AssertionError:
        return False
    return True


def _acts_at_all(case: conversations.Case) -> bool:
    return any(s.acts for s in _read(case))


def test_named_hard_cases() -> None:
    cases = {
        "Customer: should I stop?": False,
        "Customer: don't delete my account": False,
        "Customer: I don't want you to stop calling me": False,
        "Agent: you can say stop calling me\nCustomer: ok": False,
        "Customer: is my number on your do not call list?": False,
        "Customer: no, stop calling me": True,
        "Customer: i don't care just stop calling me": True,
        "Customer: can you take me off your list?": True,
        "Customer: what information do you have on me?": True,
        "Cliente: no me llamen más": True,
        "Cliente: borra mis datos por favor": True,
        "Cliente: no borres mis datos": False,
        "Cliente: por favor no borren mis datos": False,
    }
    for text, acts in cases.items():
        found = said.read(text, said.intent_spans(text), channel="call", direction="inbound")
        assert any(s.acts for s in found) is acts, text


def test_speaker_rules() -> None:
    text = "speaker 1: thanks for calling\nspeaker 2: stop calling me"
    [found] = said.read(text, said.intent_spans(text), channel="call", direction="inbound")
    assert (found.speaker, found.acts, found.reason) == ("unknown", False, "unknown_speaker")
    # A continuation line belongs to the last labelled speaker.
    text = "Agent: hello\nCustomer: hi\nand please stop calling me"
    [found] = said.read(text, said.intent_spans(text), channel="call", direction="inbound")
    assert found.speaker == "customer" and found.acts
    # The agent named in the interaction is the agent.
    text = "Maria: you could just say stop calling me\nJohn: okay"
    [found] = said.read(
        text, said.intent_spans(text), channel="call", direction="inbound", agent_name="Maria"
    )
    assert found.speaker == "agent" and not found.acts
    # An inbound SMS without labels is the person's; an outbound one is ours.
    for direction, acts in (("inbound", True), ("outbound", False)):
        [found] = said.read(
            "unsubscribe me",
            said.intent_spans("unsubscribe me"),
            channel="sms",
            direction=direction,
        )
        assert found.acts is acts
    # An unlabelled call transcript: nobody knows who said it.
    [found] = said.read(
        "stop calling me", said.intent_spans("stop calling me"), channel="call", direction="inbound"
    )
    assert found.reason == "unknown_speaker"


def test_bad_spans_are_ignored() -> None:
    text = "Customer: stop calling me"
    assert said.read(text, [("OPT_OUT_REQUEST", 5, 999)], channel="call", direction="inbound") == []
    assert said.read(text, [("PERSON", 0, 5)], channel="call", direction="inbound") == []
    assert said.read(text, [("OPT_OUT_REQUEST", 0, 5)], channel="call", direction="inbound") == []
