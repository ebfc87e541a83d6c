"""Conformance, collection side: generated sequences of subjects, records, interactions and
consent choices against one of the five example declarations, through HTTP only. After every
write the vault's answer is compared with a small oracle written here from the declaration YAML,
the jurisdiction rules YAML and the sensitive-categories YAML (it imports nothing of
honorbound.vault): 201 exactly when the oracle finds no violation, otherwise a 422 naming one of
the rules the oracle found broken, and the rows in the database match what was accepted.

What the oracle checks (issue 14): every part of an interaction passes the category gate
(text, recording); times beyond the clock skew are refused; the record's source must be of a
declared kind; sensitive data needs opt-in where the subject's state asks for it, an unknown
state being the strictest the notice covers; a sensitive child of a non-sensitive declared
parent needs its own opt-in in every state; consent comes from the ledger: an opt-out there
refuses whatever the request claims, a claim with nothing on file becomes an opt-in event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
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
from sqlalchemy import func, select

from honorbound.vault.models import Interaction, Record
from tests.conformance.app import EXAMPLE_NAMES, EXAMPLES, ConformanceApp, example_count

DATA = Path(__file__).resolve().parents[2] / "src/honorbound/policy/data"
LAWS: dict[str, Any] = yaml.safe_load((DATA / "us-rules.yaml").read_text())["states"]
SENSITIVE = [
    row["prefix"]
    for row in yaml.safe_load((DATA / "sensitive-categories.yaml").read_text())["sensitive"]
]
# The oracle's own reading of where a value comes from (docs/vault.md).
SOURCES = {
    "call": "directly",
    "web_form": "directly",
    "cookie": "automatically",
    "data_broker": "third_parties",
    "third_party": "third_parties",
    "gossip": None,
}
EXTRA_KEYS = [
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.political_opinion",
    "user.health_and_medical",
    "user.government_id.national_identification_number",
    "user.contact.email",
    "user.financial.credit_card",
    "user.demographic.gender",
]
STATES = ["CA", "CO", "VA", "IA", "NY", None]
TEXT_CATEGORY = {"call": "user.contact_center.transcript", "chat": "user.contact_center.chat_log"}
RECORDING = "user.contact_center.call_recording"


def within(key: str, ancestor: str) -> bool:
    return key == ancestor or key.startswith(ancestor + ".")


class Oracle:
    def __init__(self, text: str) -> None:
        self.d: dict[str, Any] = yaml.safe_load(text)
        self.types = [s["id"] for s in self.d["subjects"]]

    def category(self, key: str) -> dict[str, Any] | None:
        cats = self.d["categories"]
        for cat in cats:
            if cat["key"] == key:
                return cat  # type: ignore[no-any-return]
        for cat in cats:
            if any(within(key, inc) for inc in cat.get("includes", [])):
                return cat  # type: ignore[no-any-return]
        found = [c for c in cats if within(key, c["key"])]
        return max(found, key=lambda c: len(c["key"])) if found else None

    def for_type(self, selection: Any, subject_type: str) -> bool:
        return selection in (None, "all") or subject_type in selection

    def purposes(self, cat: dict[str, Any], subject_type: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.d["purposes"]
            if (p["categories"] == "all" or cat["key"] in p["categories"])
            and self.for_type(p.get("subjects", "all"), subject_type)
        ]

    def part(self, key: str, subject_type: str) -> set[str]:
        cat = self.category(key)
        if cat is None:
            return {"category_not_declared"}
        if not self.for_type(cat.get("subjects", "all"), subject_type):
            return {"category_not_declared_for_subject_type"}
        if "directly" not in cat.get("sources", ["directly"]):
            return {"source_not_declared"}
        return set()

    def opt_in_state(self, state: str | None) -> bool:
        if state in LAWS:
            return LAWS[state]["sensitive"] in ("opt_in", "strict")
        # Unknown: the strictest of the states the notice covers (all five cover every state).
        covered: set[str] = set()
        for offer in self.d.get("rights", []):
            for where in offer["jurisdictions"]:
                if where in ("all", "US"):
                    covered = set(LAWS)
                    break
                if where.startswith("US-"):
                    covered.add(where[3:])
        covered = covered or set(LAWS)
        today = dt.date.today()
        in_force = {c for c in covered if dt.date.fromisoformat(str(LAWS[c]["effective"])) <= today}
        return any(LAWS[c]["sensitive"] in ("opt_in", "strict") for c in in_force or covered)

    def needs(
        self, key: str, cat: dict[str, Any], purpose: dict[str, Any], state: str | None
    ) -> list[tuple[str, str, str]]:
        """(ledger purpose, scope, refusal rule) for each opt-in the record needs."""
        out = []
        if purpose.get("consent") == "opt_in":
            out.append(("declared_purpose", purpose["id"], "purpose_requires_opt_in"))
        laws = [p for p in SENSITIVE if within(key, p)]
        law = max(laws, key=len) if laws else None
        if law is not None and not cat.get("sensitive") and cat["key"] != key:
            out.append(("sensitive_data_use", law, "sensitive_child_requires_opt_in"))
        elif (cat.get("sensitive") or law) and self.opt_in_state(state):
            out.append(("sensitive_data_use", law or cat["key"], "sensitive_requires_opt_in"))
        return out


class Person:
    def __init__(self, sid: int, type_: str, state: str | None, email: str) -> None:
        self.id, self.type, self.state, self.email = sid, type_, state, email
        self.choices: list[tuple[str, str, str]] = []  # (purpose, scope, action), in order

    def latest(self, purpose: str, scope: str) -> str | None:
        found = None
        for p, s, action in self.choices:
            if (p == purpose and s in ("", scope)) or (p == "all" and action == "opt_out"):
                found = action
        return found


class CollectionConformance(RuleBasedStateMachine):
    make_app: Callable[[], ConformanceApp]

    def __init__(self) -> None:
        super().__init__()
        self.app = self.make_app()
        self.people: list[Person] = []
        self.records = 0
        self.interactions = 0

    @initialize(name=st.sampled_from(EXAMPLE_NAMES))
    def adopt(self, name: str) -> None:
        text = (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")
        status, body = self.app.adopt(text)
        assert status == 201, body
        self.oracle = Oracle(text)

    @rule(type_index=st.integers(0, 10), state=st.sampled_from(STATES))
    def new_person(self, type_index: int, state: str | None) -> None:
        type_ = self.oracle.types[type_index % len(self.oracle.types)]
        email = f"p-{uuid.uuid4().hex[:10]}@example.com"
        status, body = self.app.subject(type_, [("email", email)], state, None)
        assert status == 201, body
        self.people.append(Person(body["id"], type_, state, email))

    def _verdict(self, status: int, body: dict[str, Any], broken: set[str]) -> bool:
        if not broken:
            assert status == 201, body
            return True
        assert status == 422, (broken, body)
        assert body.get("rule") in broken, (broken, body)
        return False

    @precondition(lambda self: bool(self.people))
    @rule(
        pick=st.integers(0, 50),
        key_index=st.integers(0, 60),
        source=st.sampled_from(sorted(SOURCES)),
        days=st.sampled_from([-30, 0, 3]),
        claim=st.booleans(),
    )
    def collect(self, pick: int, key_index: int, source: str, days: int, claim: bool) -> None:
        person = self.people[pick % len(self.people)]
        keys = [c["key"] for c in self.oracle.d["categories"]] + EXTRA_KEYS
        key = keys[key_index % len(keys)]
        cat = self.oracle.category(key)
        purposes = self.oracle.purposes(cat, person.type) if cat is not None else []
        purpose = purposes[0] if purposes else {"id": "support"}
        broken: set[str] = set()
        if days > 0:
            broken.add("time_in_future")
        if cat is None:
            broken.add("category_not_declared")
        elif not self.oracle.for_type(cat.get("subjects", "all"), person.type):
            broken.add("category_not_declared_for_subject_type")
        elif not purposes:
            broken.add("purpose_not_declared")
        elif SOURCES[source] is None:
            broken.add("source_unknown")
        elif SOURCES[source] not in cat.get("sources", ["directly"]):
            broken.add("source_not_declared")
        needs = self.oracle.needs(key, cat, purpose, person.state) if cat and purposes else []
        claims: list[tuple[str, str, str]] = []
        for ledger_purpose, scope, refusal in needs:
            latest = person.latest(ledger_purpose, scope)
            if latest == "opt_out":
                broken.add("consent_withdrawn")
            elif latest is None and not claim:
                broken.add(refusal)
            elif latest is None:
                claims.append((ledger_purpose, scope, "opt_in"))
        at = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        r = self.app.client.post(
            f"/v1/subjects/{person.id}/records",
            json={
                "category": key,
                "value": f"v-{uuid.uuid4().hex[:8]}",
                "purposes": [purpose["id"]],
                "source": source,
                "collected_at": at.isoformat(),
                **({"consent": {"opt_in": True}} if claim else {}),
            },
            headers=self.app.headers,
        )
        if self._verdict(r.status_code, r.json(), broken):
            self.records += 1
            person.choices.extend(claims)

    @precondition(lambda self: bool(self.people))
    @rule(
        pick=st.integers(0, 50),
        channel=st.sampled_from(["call", "chat"]),
        text=st.booleans(),
        recording=st.booleans(),
        days=st.sampled_from([-1, 0, 2]),
    )
    def interact(self, pick: int, channel: str, text: bool, recording: bool, days: int) -> None:
        person = self.people[pick % len(self.people)]
        broken: set[str] = set()
        if days > 0:
            broken.add("time_in_future")
        if text:
            broken |= self.oracle.part(TEXT_CATEGORY[channel], person.type)
        if recording:
            broken |= self.oracle.part(RECORDING, person.type)
        body: dict[str, Any] = {
            "channel": channel,
            "direction": "inbound",
            "started_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat(),
        }
        if text:
            body["text"] = "hello, a question about my bill"
        if recording:
            body["recording"] = {"uri": f"s3://r/{uuid.uuid4().hex}.wav", "sha256": "cd" * 32}
        r = self.app.client.post(
            f"/v1/subjects/{person.id}/interactions", json=body, headers=self.app.headers
        )
        if self._verdict(r.status_code, r.json(), broken):
            self.interactions += 1

    @precondition(lambda self: bool(self.people))
    @rule(
        pick=st.integers(0, 50),
        choice=st.sampled_from(
            [
                ("sensitive_data_use", "opt_out"),
                ("sensitive_data_use", "opt_in"),
                ("all", "opt_out"),
                ("declared_purpose", "opt_out"),
                ("declared_purpose", "opt_in"),
            ]
        ),
        scope_index=st.integers(0, 20),
    )
    def choose(self, pick: int, choice: tuple[str, str], scope_index: int) -> None:
        person = self.people[pick % len(self.people)]
        purpose, action = choice
        scope = ""
        if purpose == "declared_purpose":
            ids = [p["id"] for p in self.oracle.d["purposes"]]
            scope = ids[scope_index % len(ids)]
        status = self.app.event(person.email, purpose, "all", action, "web_form", scope)
        assert status == 201, status
        person.choices.append((purpose, scope, action))

    @invariant()
    def rows_match(self) -> None:
        with self.app.runtime.db.session() as session:
            records = session.scalar(select(func.count()).select_from(Record))
            interactions = session.scalar(select(func.count()).select_from(Interaction))
        assert (records, interactions) == (self.records, self.interactions)

    def teardown(self) -> None:
        self.app.close()


@pytest.mark.conformance
@pytest.mark.timeout(3600)
def test_the_collection_gate_keeps_the_notice(make_app: Callable[[], ConformanceApp]) -> None:
    CollectionConformance.make_app = staticmethod(make_app)  # type: ignore[assignment]
    run_state_machine_as_test(
        CollectionConformance,
        settings=settings(
            max_examples=example_count(10),
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=False,
        ),
    )
