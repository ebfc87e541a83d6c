"""Conformance: random histories against the running app, compared with the oracle.

Hypothesis generates sequences of: adopting one of the five example declarations, new versions
of it (new sales, purposes, consent flags, per-recipient opt-outs, `consent_for_past_data`),
people of every declared type, state and age, records collected in the past and (where the
gate lets them) the future, choices on every channel (web form, staff, a rights request, SMS
STOP/START through the webhook, GPC through the public endpoint, one-click unsubscribe),
checks, exports and retention sweeps. After every step the app is asked over HTTP what may be
used or shared, and its answer must be the oracle's (tests/conformance/oracle.py). A
disagreement fails with the shrunk sequence of steps.

Examples: HONORBOUND_CONFORMANCE_EXAMPLES (default 12 in `make test`; `make conformance` runs
more).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import yaml
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

from tests.conformance.app import EXAMPLE_NAMES, EXAMPLES, ConformanceApp, example_count
from tests.conformance.oracle import Minors, Notice, Person, Value, expected
from tests.support.people import remember

MINORS = Minors()
STATES = ["CA", "VA", "IA", "TX", "CO", None]
AGES = [None, 12, 15, 17, 30, 45]
OUR_NUMBERS = ["+12025550198", "+12025550199"]
MUTATIONS = [
    "add_sale",
    "add_sharing",
    "recipient_gains_purpose",
    "recipient_loses_purpose",
    "toggle_consent_required",
    "toggle_opt_out",
    "toggle_consent_for_past_data",
    "purpose_for_everyone",
    "recipient_gains_all_categories",
]
CHOICES = [
    ("web_form", "sale", "opt_out"),
    ("web_form", "sharing", "opt_out"),
    ("web_form", "sensitive_data_use", "opt_out"),
    ("agent_verbal", "marketing", "opt_out"),
    ("agent_verbal", "marketing", "opt_in"),
    ("agent_verbal", "profiling", "opt_out"),
    ("agent_verbal", "all", "opt_out"),
    ("agent_verbal", "sale", "opt_in"),
    ("controller_api", "recipient", "opt_in"),
    ("controller_api", "recipient", "opt_out"),
    ("controller_api", "declared_purpose", "opt_in"),
    ("controller_api", "declared_purpose", "opt_out"),
]
OPT_OUT_REQUESTS = {
    "opt_out_sale": "sale",
    "opt_out_sharing": "sharing",
    "opt_out_targeted_advertising": "targeted_advertising",
    "opt_out_profiling": "profiling",
    "limit_sensitive": "sensitive_data_use",
}


def mutate(doc: dict[str, Any], how: str, pick: int) -> dict[str, Any]:
    """A new version of the declaration (may fail `policy check`: then nothing is adopted)."""
    d = copy.deepcopy(doc)
    recipients = d.get("recipients", [])
    purposes = d["purposes"]
    if not recipients:
        return d
    r = recipients[pick % len(recipients)]
    d["effective_date"] = dt.date.today().isoformat()
    if how in ("add_sale", "add_sharing"):
        flag, promise, right = (
            ("sale", "sells_personal_data", "opt_out_sale")
            if how == "add_sale"
            else ("sharing", "shares_for_targeted_advertising", "opt_out_sharing")
        )
        r[flag] = True
        d.setdefault("commitments", {})[promise] = True
        if how == "add_sharing":
            d["commitments"]["sensitive_data_for_targeted_advertising"] = True
            d["commitments"]["sensitive_data_only_for_exempt_purposes"] = False
        d.setdefault("rights", []).append(
            {"id": f"opt-out-{flag}", "jurisdictions": ["all"], "rights": [right],
             "methods": ["email"]}
        )  # fmt: skip
    elif how == "recipient_gains_purpose":
        missing = [p["id"] for p in purposes if p["id"] not in r.get("purposes", [])]
        if missing:
            r["purposes"] = [*r.get("purposes", []), missing[pick % len(missing)]]
    elif how == "recipient_loses_purpose" and len(r.get("purposes", [])) > 1:
        r["purposes"] = r["purposes"][1:]
    elif how == "toggle_consent_required":
        r["consent_required"] = not r.get("consent_required", False)
    elif how == "toggle_opt_out":
        r["opt_out"] = not r.get("opt_out", False)
    elif how == "toggle_consent_for_past_data":
        d["changes"]["consent_for_past_data"] = not d["changes"].get("consent_for_past_data")
    elif how == "purpose_for_everyone":
        purposes[pick % len(purposes)]["subjects"] = "all"
    elif how == "recipient_gains_all_categories":
        r["categories"] = "all"
    return d


class GuardConformance(RuleBasedStateMachine):
    make_app: Callable[[], ConformanceApp]

    def __init__(self) -> None:
        super().__init__()
        self.app = self.make_app()
        self.versions: list[Notice] = []
        self.people: dict[int, Person] = {}
        self.contacts: dict[int, tuple[str, str, str]] = {}  # id -> email, phone, cookie
        self.stopped: dict[tuple[str, str], bool] = {}  # (phone, our number) -> stopped
        self.step = 0

    def teardown(self) -> None:
        self.app.close()

    @property
    def notice(self) -> Notice:
        return self.versions[-1]

    def _adopt(self, doc: dict[str, Any]) -> bool:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        status, body = self.app.adopt(text)
        if status == 201:
            self.versions.append(Notice(text))
            return True
        assert status in (200, 422), body
        return False

    @initialize(name=st.sampled_from(EXAMPLE_NAMES))
    def adopt_example(self, name: str) -> None:
        text = (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")
        status, body = self.app.adopt(text)
        assert status == 201, body
        self.versions.append(Notice(text))

    @rule(how=st.sampled_from(MUTATIONS), pick=st.integers(0, 20))
    def new_version(self, how: str, pick: int) -> None:
        if not self._adopt(mutate(self.notice.d, how, pick)) or not self.people:
            return
        # What a new version changes is where old data is most at risk (rule 9): ask about the
        # changed recipient for each of its purposes, and about own use of each purpose.
        recipients = self.notice.d.get("recipients", [])
        if recipients:
            changed = recipients[pick % len(recipients)]
            for purpose in changed.get("purposes", []):
                self._compare(changed["id"], self.notice.category_keys, purpose)
        for p in self.notice.d["purposes"][:4]:
            self._compare(None, self.notice.category_keys, p["id"])

    @precondition(lambda self: len(self.people) < 8)
    @rule(kind=st.integers(0, 20), state=st.sampled_from(STATES), age=st.sampled_from(AGES))
    def add_person(self, kind: int, state: str | None, age: int | None) -> None:
        n = len(self.contacts)
        email = f"person{n}.{uuid.uuid4().hex[:8]}@example.com"
        phone = f"+1202555{100 + n:04d}"
        cookie = f"cookie-{uuid.uuid4().hex}"
        remember(email, phone, phone[2:])
        types = self.notice.subject_types
        subject_type = types[kind % len(types)]
        born = None
        if age is not None:
            today = dt.date.today()
            born = today.replace(year=today.year - age) - dt.timedelta(days=10)
        status, body = self.app.subject(
            subject_type,
            [("email", email), ("phone", phone), ("cookie_id", cookie)],
            state,
            born,
        )
        if status != 201:
            return  # the collection gate refused (its own suite checks why)
        sid = body["id"]
        version = len(self.versions) - 1
        self.people[sid] = Person(
            sid,
            subject_type,
            state,
            age,
            [
                Value("identity:email", "user.contact.email", version, email),
                Value("identity:phone", "user.contact.phone", version, phone),
            ],
        )
        self.contacts[sid] = (email, phone, cookie)

    def _someone(self, pick: int) -> Person | None:
        alive = [p for p in self.people.values() if not p.erased]
        return alive[pick % len(alive)] if alive else None

    @precondition(lambda self: bool(self.people))
    @rule(
        pick=st.integers(0, 20),
        cat=st.integers(0, 40),
        days=st.sampled_from([-3000, -400, -30, 0, 3]),
    )
    def collect(self, pick: int, cat: int, days: int) -> None:
        person = self._someone(pick)
        if person is None:
            return
        notice = self.notice
        keys = notice.category_keys
        key = keys[cat % len(keys)]
        purposes = [
            p["id"]
            for p in notice.d["purposes"]
            if key in notice.purpose_categories(p) and person.type in notice.purpose_subjects(p)
        ]
        if not purposes:
            return
        value = f"v-{uuid.uuid4().hex[:12]}"
        at = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        email = self.contacts[person.id][0]
        known = {event_id for event_id, _ in self.app.events(email)}
        status, body = self.app.record(person.id, key, value, purposes[:1], at, opt_in=True)
        if status != 201:
            return
        # Where the ledger had nothing, the vault recorded the claim (opt_in=True) as the
        # person's opt-in event: a choice from now on, like one made through the consent API.
        person.choices.extend(
            choice for event_id, choice in self.app.events(email) if event_id not in known
        )
        version = next(
            i for i, v in enumerate(self.versions) if i == len(self.versions) - 1
        )  # the version in force now
        person.values.append(Value(f"record:{body['id']}", key, version, value))

    @precondition(lambda self: bool(self.people))
    @rule(pick=st.integers(0, 20), choice=st.sampled_from(CHOICES), scope=st.integers(0, 20))
    def choose(self, pick: int, choice: tuple[str, str, str], scope: int) -> None:
        person = self._someone(pick)
        if person is None:
            return
        source, purpose, action = choice
        scope_id = ""
        if purpose == "recipient":
            ids = [r["id"] for r in self.notice.d.get("recipients", [])] or ["nobody"]
            scope_id = ids[scope % len(ids)]
        elif purpose == "declared_purpose":
            ids = [p["id"] for p in self.notice.d["purposes"]]
            scope_id = ids[scope % len(ids)]
        email = self.contacts[person.id][0]
        status = self.app.event(email, purpose, "all", action, source, scope_id)
        assert status == 201, status
        person.choices.append((purpose, "all", scope_id, action))

    @precondition(lambda self: bool(self.people))
    @rule(pick=st.integers(0, 20), word=st.sampled_from(["STOP", "START", "STOPALL"]),
          number=st.sampled_from(OUR_NUMBERS))  # fmt: skip
    def text_message(self, pick: int, word: str, number: str) -> None:
        person = self._someone(pick)
        if person is None:
            return
        phone = self.contacts[person.id][1]
        self.app.sms(phone, number, word)
        # A text keyword is a choice about texts only: the oracle files it on channel sms.
        scope = "" if word == "STOPALL" else number
        person.choices.append(("all", "sms", scope, "opt_in" if word == "START" else "opt_out"))
        for ours in OUR_NUMBERS if word == "STOPALL" else [number]:
            self.stopped[(phone, ours)] = word != "START"

    @precondition(lambda self: bool(self.people))
    @rule(pick=st.integers(0, 20))
    def global_privacy_control(self, pick: int) -> None:
        person = self._someone(pick)
        if person is None:
            return
        answer = self.app.gpc(self.contacts[person.id][2], person.state)
        # Whether the signal binds (state law, the notice's promise) is the consent package's
        # rule; what it records is an opt-out of use and disclosure, which the guard must honor.
        for purpose in answer["recorded"]:
            person.choices.append((purpose, "all", "", "opt_out"))

    @precondition(lambda self: bool(self.people))
    @rule(pick=st.integers(0, 20), list_id=st.sampled_from(["news", "offers"]))
    def one_click_unsubscribe(self, pick: int, list_id: str) -> None:
        person = self._someone(pick)
        if person is None:
            return
        assert self.app.one_click(self.contacts[person.id][0], list_id) == 200
        # Sender-wide (issue 14): none of the five notices says its lists are independent.
        person.choices.append(("marketing", "email", "", "opt_out"))

    @precondition(lambda self: bool(self.people))
    @rule(pick=st.integers(0, 20), kind=st.sampled_from(sorted(OPT_OUT_REQUESTS)))
    def rights_opt_out(self, pick: int, kind: str) -> None:
        person = self._someone(pick)
        if person is None:
            return
        self.app.rights_request(kind, person.state or "CA", self.contacts[person.id][0])
        person.choices.append((OPT_OUT_REQUESTS[kind], "all", "", "opt_out"))

    @rule()
    def retention_sweep(self) -> None:
        assert self.app.sweep() == 202
        for person in self.people.values():
            status, view = self.app.view(person.id)
            if status == 404 or (status == 200 and view.get("status") == "erased"):
                person.erased = True
                continue
            assert status == 200, view
            held = {f"record:{r['id']}" for r in view["records"]}
            person.values = [
                v for v in person.values if not v.ref.startswith("record:") or v.ref in held
            ]

    # -- the comparisons ----------------------------------------------------------------------
    def _compare(
        self, recipient: str | None, categories: list[str], purpose: str
    ) -> tuple[bool, dict[int, list[str]], dict[int, set[str]]]:
        ids = sorted(self.people)
        got = self.app.check(recipient, categories, purpose, ids)
        blocked, allowed, values = expected(
            self.versions, self.people, MINORS, recipient, categories, purpose, ids
        )
        assert got["blocked"] == blocked, (recipient, purpose, got["reasons"])
        assert {int(k): v for k, v in got["allowed"].items()} == allowed, (
            f"recipient={recipient} purpose={purpose} categories={categories}",
            got["reasons"],
        )
        return blocked, allowed, values

    @precondition(lambda self: bool(self.versions))
    @rule(who=st.integers(0, 40), what=st.integers(0, 40), cats=st.integers(1, 2**12))
    def ask(self, who: int, what: int, cats: int) -> None:
        notice = self.notice
        recipients: list[str | None] = [None, *(r["id"] for r in notice.d.get("recipients", []))]
        recipient = recipients[who % len(recipients)]
        purpose = notice.d["purposes"][what % len(notice.d["purposes"])]["id"]
        keys = notice.category_keys
        chosen = [k for i, k in enumerate(keys) if cats >> (i % 12) & 1] or keys[:1]
        self._compare(recipient, chosen, purpose)

    @precondition(lambda self: bool(self.people))
    @rule(who=st.integers(0, 40), what=st.integers(0, 40))
    def export(self, who: int, what: int) -> None:
        notice = self.notice
        recipients = [r["id"] for r in notice.d.get("recipients", [])]
        if not recipients:
            return
        recipient = recipients[who % len(recipients)]
        purpose = notice.d["purposes"][what % len(notice.d["purposes"])]["id"]
        keys = notice.category_keys
        blocked, allowed, values = self._compare(recipient, keys, purpose)
        status, body = self.app.export(recipient, keys, purpose, sorted(self.people))
        if blocked or not allowed:
            assert status == 422, body
            return
        assert status == 200, body
        got = {
            (line["subject"], item["value"])
            for line in map(json.loads, body.splitlines())
            for item in line["records"]
        }
        want = {
            (sid, v.text)
            for sid, refs in values.items()
            for v in self.people[sid].values
            if v.ref in refs
        }
        assert got == want, (recipient, purpose, sorted(got ^ want))

    @invariant()
    def answers_agree(self) -> None:
        """After every step: one question, rotating over recipients and purposes."""
        if not self.versions or not self.people:
            return
        self.step += 1
        notice = self.notice
        recipients: list[str | None] = [None, *(r["id"] for r in notice.d.get("recipients", []))]
        purposes = [p["id"] for p in notice.d["purposes"]]
        self._compare(
            recipients[self.step % len(recipients)],
            notice.category_keys,
            purposes[(self.step // len(recipients)) % len(purposes)],
        )

    @invariant()
    def texts_stop_where_stopped(self) -> None:
        """A STOP stops texts from that sender (and only that: disclosures are compared above)."""
        items = [
            {"identity": phone, "purpose": "service_messages", "channel": "sms", "sender": ours}
            for (phone, ours), stopped in sorted(self.stopped.items())
            if stopped
        ]
        if items:
            assert not any(r["allowed"] for r in self.app.contact(items)), items


@pytest.mark.conformance
@pytest.mark.timeout(3600)
def test_the_guard_keeps_the_notice(make_app: Callable[[], ConformanceApp]) -> None:
    GuardConformance.make_app = staticmethod(make_app)  # type: ignore[assignment]
    run_state_machine_as_test(
        GuardConformance,
        settings=settings(
            max_examples=example_count(12),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=False,
        ),
    )
