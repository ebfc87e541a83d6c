"""May this call be recorded: the rule from the rules data, the stricter state winning, the
announcement event and the refusal path, through the library and the real API."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

import honorbound.policy
from honorbound.accounts.roles import Role
from honorbound.audit.models import AuditEntry
from honorbound.policy.jurisdictions import load_rules
from honorbound.recordings.consent import Party, decide
from honorbound.recordings.errors import RecordingError
from honorbound.runtime import Runtime
from tests.conftest import Tenant

RULES = load_rules(None)
# The oracle reads the data file itself, not the rules object the code uses.
RAW = yaml.safe_load(
    (Path(honorbound.policy.__file__).parent / "data" / "us-rules.yaml").read_text()
)["recording"]
STRICT = {r["state"] for r in RAW["all_party_states"] + RAW["disputed_states"]}
ONE_PARTY = sorted({"TX", "NY", "GA", "OH", "AZ", "CO", "NJ", "VA", "NC"} - STRICT)


def test_the_data_lists_the_all_party_states_with_sources() -> None:
    assert {"CA", "FL", "IL", "MD", "MA", "MT", "NH", "PA", "WA"} <= STRICT
    assert all(r.get("source") for r in RAW["all_party_states"] + RAW["disputed_states"])


@pytest.mark.parametrize("state", sorted(STRICT))
def test_any_party_in_an_all_party_state_makes_the_call_all_party(state: str) -> None:
    for other in ("TX", state):
        without = decide(
            RULES, [Party("agent", other), Party("customer", state)], announcement_played=False
        )
        assert (without.regime, without.may_record, without.action) == (
            "all_party",
            False,
            "announce_first",
        )
        assert any(s.startswith(f"{state}: ") for s in without.sources)
        played = decide(
            RULES, [Party("agent", state), Party("customer", "TX")], announcement_played=True
        )
        assert (played.regime, played.may_record, played.action) == ("all_party", True, "record")


@pytest.mark.parametrize("state", ONE_PARTY)
def test_one_party_states_may_record_without_the_announcement(state: str) -> None:
    d = decide(RULES, [Party("agent", "TX"), Party("customer", state)], announcement_played=False)
    assert (d.regime, d.may_record, d.action) == ("one_party", True, "record")


def test_an_unknown_state_is_treated_as_all_party() -> None:
    d = decide(RULES, [Party("agent", "TX"), Party("customer", None)], announcement_played=False)
    assert d.regime == "all_party" and not d.may_record and "state_unknown:customer" in d.reasons


def test_a_refusal_stops_the_recording_everywhere() -> None:
    for states in (("TX", "NY"), ("CA", "TX")):
        d = decide(
            RULES,
            [Party("a", states[0]), Party("c", states[1])],
            announcement_played=True,
            refused=True,
        )
        assert (d.may_record, d.action) == (False, "stop") and "refused" in d.reasons


def test_disputed_states_say_they_are_unconfirmed() -> None:
    d = decide(RULES, [Party("a", "MI"), Party("c", "TX")], announcement_played=True)
    assert d.regime == "all_party" and any(u.startswith("MI") for u in d.unconfirmed)


def test_bad_parties_are_refused_with_a_sentence() -> None:
    with pytest.raises(RecordingError, match="two-letter"):
        decide(RULES, [Party("a", "California"), Party("c", "TX")], announcement_played=True)
    with pytest.raises(RecordingError, match="two parties"):
        decide(RULES, [Party("a", "TX")], announcement_played=True)


def test_decision_api_answers_and_records_the_evidence(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    body = {
        "call_id": "dialer-call-1",
        "parties": [{"role": "agent", "state": "TX"}, {"role": "customer", "state": "CA"}],
        "announcement_played": False,
    }
    r = client.post("/v1/recordings/decision", json=body, headers=tenant.headers(Role.AGENT))
    assert r.status_code == 200, r.text
    assert r.json()["may_record"] is False and r.json()["action"] == "announce_first"
    r2 = client.post(
        "/v1/recordings/decision",
        json={**body, "announcement_played": True, "refused": True},
        headers=tenant.headers(Role.AGENT),
    )
    assert r2.json()["action"] == "stop"
    with runtime.db.session() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organization_id == tenant.id, AuditEntry.object_id == "dialer-call-1")
            .order_by(AuditEntry.seq)
        ).all()
        assert [e.action for e in rows] == ["recordings.decision", "recordings.refused"]
        assert rows[1].details["refused"] is True and rows[1].details["may_record"] is False
        assert rows[0].details["parties"][1]["state"] == "CA"
        assert r2.json()["evidence"]["audit_entry"] == rows[1].id


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"parties": [{"role": "agent", "state": "TX"}]}, "parties"),
        ({"parties": [{"role": "a", "state": "Texas"}, {"role": "c", "state": "CA"}]}, None),
        ({"announcement_played": "maybe"}, "announcement_played"),
        ({"call_id": "x" * 65}, "call_id"),
    ],
)
def test_decision_api_bad_input_is_a_problem_not_a_500(
    client: TestClient, tenant: Tenant, patch: dict, field: str | None
) -> None:
    body = {
        "call_id": "c1",
        "parties": [{"role": "agent", "state": "TX"}, {"role": "customer", "state": "CA"}],
        "announcement_played": True,
        **patch,
    }
    r = client.post("/v1/recordings/decision", json=body, headers=tenant.headers(Role.AGENT))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")
    if field:
        assert field in r.text


def test_decision_api_needs_a_key(client: TestClient) -> None:
    r = client.post("/v1/recordings/decision", json={})
    assert r.status_code == 401
