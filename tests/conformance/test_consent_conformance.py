"""Conformance, consent side (issue 14): random histories of opt-outs and texts against the
running app, compared with a small model written here.

Hypothesis generates sequences of: one-click unsubscribes from either of two lists, opt-outs
staff received (email, phone call, letter; any purpose and channel), texts to either of our
numbers (STOP, STOPALL, START, HELP) and gateway retries of the last text (same message id),
and GPC pings without a state, under one of the five example declarations. After every step
the app is asked over HTTP for marketing decisions per list, per sending number, per channel and
on `channel: "all"`, and must answer as the model does; the texts queued in the outbox must be
the model's count (one confirmation per change of state, a HELP answer per HELP, nothing for a
retry). The model reads nothing from honorbound.consent: its rules are docs/consent.md's.

Examples: HONORBOUND_CONFORMANCE_EXAMPLES (default 8).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.consent.sms import HmacUrlParams, webhook_secret
from honorbound.notify.models import OutboxMessage
from tests.conformance.app import EXAMPLE_NAMES, EXAMPLES, ConformanceApp, example_count
from tests.support.people import remember

LISTS = ["news", "offers"]
OUR_NUMBERS = ["+12025550196", "+12025550197"]
EMAILS = ["conf.ada.1417@example.com", "conf.bo.2291@example.com"]
PHONES = ["+12125550181", "+13125550182"]
CHANNELS = ["email", "sms", "voice", "mail", "fax"]
AT = "2026-12-01T20:00:00Z"  # a Tuesday afternoon in every US zone: calling hours allow it
remember(*EMAILS, *PHONES, *(p[2:] for p in PHONES))


@dataclass(frozen=True)
class Choice:
    purpose: str
    channel: str
    scope: str
    action: str
    source: str


@dataclass
class Model:
    """docs/consent.md, for these steps: choices in the order made (each later than the one
    before); the newest covering choice decides."""

    choices: dict[str, list[Choice]] = field(default_factory=dict)
    replies: int = 0

    def deciding(self, who: str, purpose: str, channel: str, sender: str | None) -> Choice | None:
        latest: dict[tuple[str, str, str], tuple[int, Choice]] = {}
        for n, c in enumerate(self.choices.get(who, [])):
            if c.purpose in (purpose, "all") and c.channel in (channel, "all"):
                latest[(c.purpose, c.channel, c.scope)] = (n, c)
        found: tuple[int, Choice] | None = None
        for (_, _, scope), (n, c) in latest.items():
            # Without a sender named, a choice about one sender counts only as an opt-out.
            if scope and sender is None and c.action != "opt_out":
                continue
            if scope and sender is not None and scope != sender:
                continue
            if found is None or n > found[0]:
                found = (n, c)
        return None if found is None else found[1]

    def reasons(self, who: str, channel: str, sender: str | None) -> set[str]:
        if channel == "all":
            return set().union(*(self.reasons(who, c, sender) for c in CHANNELS))
        decisive = self.deciding(who, "marketing", channel, sender)
        if decisive is not None and decisive.action == "opt_out":
            return {"opted_out"}
        if decisive is None and channel == "sms":  # marketing texts need prior consent
            return {"consent_required"}
        return set()


class ConsentConformance(RuleBasedStateMachine):
    make_app: Callable[[], ConformanceApp]

    def __init__(self) -> None:
        super().__init__()
        self.app = self.make_app()
        self.model = Model()
        self.last_text: dict[str, str] | None = None

    def teardown(self) -> None:
        self.app.close()

    @initialize(name=st.sampled_from(EXAMPLE_NAMES))
    def adopt_example(self, name: str) -> None:
        text = (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")
        status, body = self.app.adopt(text)
        assert status == 201, body  # none of the five says its lists are independent

    @rule(who=st.sampled_from(EMAILS), list_id=st.sampled_from(LISTS))
    def one_click(self, who: str, list_id: str) -> None:
        assert self.app.one_click(who, list_id) == 200
        # Sender-wide: every list of the organization.
        self.model.choices.setdefault(who, []).append(
            Choice("marketing", "email", "", "opt_out", "email_one_click")
        )

    @rule(
        who=st.sampled_from(EMAILS + PHONES),
        source=st.sampled_from(["email", "phone_call", "letter"]),
        purpose=st.sampled_from(["marketing", "all"]),
        channel=st.sampled_from(["email", "sms", "voice", "all"]),
    )
    def received(self, who: str, source: str, purpose: str, channel: str) -> None:
        r = self.app.client.post(
            "/v1/consent/received-opt-outs",
            json={"identity": who, "source": source, "purpose": purpose, "channel": channel},
            headers=self.app.tenant.headers(Role.AGENT),
        )
        assert r.status_code == 201, r.text
        self.model.choices.setdefault(who, []).append(
            Choice(purpose, channel, "", "opt_out", source)
        )

    def _text(self, form: dict[str, str]) -> dict[str, Any]:
        url = f"http://testserver/v1/public/sms/{self.app.tenant.slug}"
        check = HmacUrlParams(webhook_secret(self.app.runtime.keys, self.app.tenant.id))
        r = self.app.client.post(url, data=form, headers={check.header: check.expected(url, form)})
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    @rule(
        who=st.sampled_from(PHONES),
        ours=st.sampled_from(OUR_NUMBERS),
        body=st.sampled_from(["STOP", "stop all", "START", "HELP"]),
    )
    def text(self, who: str, ours: str, body: str) -> None:
        form = {"From": who, "To": ours, "Body": body, "MessageSid": uuid.uuid4().hex}
        kind = self._text(form)["kind"]
        self.last_text = form
        if kind == "help":
            self.model.replies += 1
            return
        assert kind in ("stop", "stop_all", "start"), kind
        action = "opt_in" if kind == "start" else "opt_out"
        scope = "" if kind == "stop_all" else ours
        before = self.model.deciding(who, "all", "sms", scope)
        # One confirmation (CTIA): none when this state was already confirmed by text.
        if not (before is not None and before.action == action and before.source == "sms_keyword"):
            self.model.replies += 1
        self.model.choices.setdefault(who, []).append(
            Choice("all", "sms", scope, action, "sms_keyword")
        )

    @precondition(lambda self: self.last_text is not None)
    @rule()
    def gateway_retry(self) -> None:
        assert self.last_text is not None
        assert self._text(self.last_text)["duplicate"] is True

    @rule(n=st.integers(0, 3))
    def gpc_without_a_state(self, n: int) -> None:
        answer = self.app.gpc(f"conformance-cookie-{n}", None)
        assert answer["honored"] is True and answer["status"] == "Opt-out request honored"

    @invariant()
    def decisions_match(self) -> None:
        queries: list[tuple[str, str, str | None]] = [
            *((who, "email", s) for who in EMAILS for s in [*LISTS, None]),
            *((who, "sms", s) for who in PHONES for s in [*OUR_NUMBERS, None]),
            *((who, "voice", None) for who in PHONES),
            *((who, "all", None) for who in EMAILS + PHONES),
        ]
        items = []
        for who, channel, sender in queries:
            item = {"identity": who, "purpose": "marketing", "channel": channel, "at": AT}
            if sender is not None:
                item["sender"] = sender
            items.append(item)
        answered = self.app.client.post(
            "/v1/contact-decisions", json={"items": items}, headers=self.app.headers
        )
        assert answered.status_code == 200, answered.text
        got = [set(r["reasons"]) for r in answered.json()["results"]]
        want = [self.model.reasons(*q) for q in queries]
        assert got == want, [
            (q, g, w) for q, g, w in zip(queries, got, want, strict=True) if g != w
        ]

    @invariant()
    def one_reply_per_change(self) -> None:
        with self.app.runtime.db.read_session() as session:
            sent = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.channel == "sms")
            )
        assert sent == self.model.replies


@pytest.mark.conformance
@pytest.mark.timeout(3600)
def test_opt_outs_and_texts_keep_the_notice(make_app: Callable[[], ConformanceApp]) -> None:
    ConsentConformance.make_app = staticmethod(make_app)  # type: ignore[assignment]
    run_state_machine_as_test(
        ConsentConformance,
        settings=settings(
            max_examples=example_count(8),
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=False,
        ),
    )
