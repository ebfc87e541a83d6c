"""Limits on access requests, read from the rules data: the (N+1)th access/portability request
in the window is flagged for staff (never dropped) and may be denied as `excessive`; access
packages cover the period on the request (CA default: the 12 months before it)."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, update

from honorbound.accounts.roles import Role
from honorbound.disclosures.ledger import record_disclosure
from honorbound.disclosures.models import Basis
from honorbound.policy import store
from honorbound.policy.jurisdictions import load_rules
from honorbound.rights.limits import months_before
from honorbound.rights.models import RightsRequest
from honorbound.rights.rules import RightsRules, load_rights_rules
from honorbound.runtime import Runtime
from honorbound.vault.collection import NewInteraction, add_interaction
from honorbound.vault.models import Channel, Direction, Record
from honorbound.vault.rules import current_rules
from tests.conftest import Tenant
from tests.rights.conftest import ACTOR, body, download_access, mails_to, public, seed
from tests.support.smtp import SmtpSink


def _staff_list(api: TestClient, org: Tenant) -> list[dict[str, Any]]:
    answer = api.get(
        "/v1/requests", params={"status": "all"}, headers=org.headers(Role.PRIVACY_OFFICER)
    )
    assert answer.status_code == 200, answer.text
    return sorted(answer.json(), key=lambda r: r["id"])


def _ask(api: TestClient, org: Tenant, kind: str, state: str, email: str, **extra: Any) -> None:
    answer = api.post(
        public(org), json={"type": kind, "jurisdiction": state, "email": email, **extra}
    )
    assert answer.status_code == 202, answer.text


def test_request_beyond_the_free_ones_is_flagged_and_may_be_denied_as_excessive(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    free = load_rules().state("CA").free_requests
    counted = load_rights_rules().free_requests.types
    assert free is not None and free + 1 <= len(counted)
    p = seed(rt, org.id).person
    _ask(api, org, "delete", "CA", p.email)  # not a counted type
    for kind in counted[: free + 1]:
        _ask(api, org, kind, "CA", p.email)

    rows = _staff_list(api, org)
    assert [r["excess_request"] for r in rows] == [None] * (free + 1) + [free + 1]
    flagged = rows[-1]
    # Never silently dropped: it waits for verification like the others, and was acknowledged.
    assert flagged["status"] == "verifying"
    assert len(mails_to(smtp, p.email, free + 2)) == free + 2
    headers = org.headers(Role.PRIVACY_OFFICER)
    detail = api.get(f"/v1/requests/{flagged['id']}", headers=headers).json()
    assert detail["excess_request"] == free + 1
    (event,) = [e for e in detail["events"] if e["kind"] == "excess_request"]
    assert event["details"]["count"] == free + 1 and event["details"]["free"] == free
    assert event["details"]["window_months"] == 12 and "CA" in event["details"]["source"]

    # `excessive` applies only to a flagged request; refusing it writes nothing.
    within = rows[1]
    refused = api.post(
        f"/v1/requests/{within['id']}/deny", json={"basis": "excessive"}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.basis"
    assert api.get(f"/v1/requests/{within['id']}", headers=headers).json()["status"] == (
        "verifying"
    )

    denied = api.post(
        f"/v1/requests/{flagged['id']}/deny", json={"basis": "excessive"}, headers=headers
    )
    assert denied.status_code == 200, denied.text
    assert denied.json()["denial_basis"] == "excessive" and denied.json()["status"] == "denied"
    decision = mails_to(smtp, p.email, free + 3)[-1]
    assert "number of free requests" in body(decision)

    # A request denied earlier gave no free answer and does not count: the next one is again
    # the (free + 1)th, not the (free + 2)th.
    _ask(api, org, flagged["type"], "CA", p.email)
    assert _staff_list(api, org)[-1]["excess_request"] == free + 1


def test_window_and_states_without_a_count(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    rules = load_rights_rules().free_requests
    headers = org.headers(Role.AGENT)
    p = seed(rt, org.id).person
    long_ago = months_before(dt.datetime.now(dt.UTC), rules.window_months) - dt.timedelta(days=2)
    free = load_rules().state("CA").free_requests
    assert free is not None
    for kind in rules.types[:free]:
        logged = api.post(
            "/v1/requests",
            json={
                "type": kind,
                "jurisdiction": "CA",
                "email": p.email,
                "manner": "mail",
                "received_at": long_ago.isoformat(),
            },
            headers=headers,
        )
        assert logged.status_code == 201, logged.text
        assert logged.json()["excess_request"] is None
    # Requests older than the window do not count (the next one would otherwise be the
    # (free + 1)th). They are still open and a new one of the same type would merge, so close
    # them the way staff would.
    with rt.db.session() as session:
        session.execute(
            update(RightsRequest)
            .where(RightsRequest.organization_id == org.id)
            .values(status="completed", response="complied")
        )
    _ask(api, org, rules.types[0], "CA", p.email)
    assert _staff_list(api, org)[-1]["excess_request"] is None

    # Where the reference gives no count ("?", null in us-rules.yaml) nothing is flagged.
    unknown = [c for c, s in load_rules().states.items() if s.free_requests is None]
    assert unknown
    q = seed(rt, org.id, jurisdiction=unknown[0]).person
    for kind in rules.types:
        _ask(api, org, kind, unknown[0], q.email)
    assert [r["excess_request"] for r in _staff_list(api, org)[-len(rules.types) :]] == [
        None
    ] * len(rules.types)


def _age(rt: Runtime, org: Tenant, subject_id: int, category: str, at: dt.datetime) -> None:
    with rt.db.session() as session:
        session.execute(
            update(Record)
            .where(Record.subject_id == subject_id, Record.category == category)
            .values(collected_at=at)
        )


def _call(rt: Runtime, org: Tenant, subject_id: int, at: dt.datetime) -> None:
    with rt.db.session() as session:
        rules = current_rules(session, org.id, rt.rules)
        assert rules is not None
        add_interaction(
            session,
            rt.vault_keys,
            org.id,
            subject_id,
            NewInteraction(Channel.CALL, Direction.INBOUND, at),
            ACTOR,
            rules,
        )


def _disclose(rt: Runtime, org: Tenant, subject_id: int, at: dt.datetime) -> None:
    with rt.db.session() as session:
        adopted = store.current(session, org.id)
        assert adopted is not None
        recipient = adopted.declaration.recipient("meta")
        assert recipient is not None
        record_disclosure(
            session,
            org.id,
            ACTOR,
            recipient=recipient,
            categories=["user.contact.email"],
            purpose="advertising",
            basis=Basis.SHARING,
            subjects={subject_id: ["user.contact.email"]},
            disclosed_at=at,
        )


def _download(
    api: TestClient, org: Tenant, smtp: SmtpSink, state: str, p: Any, **extra: Any
) -> tuple[dict[str, Any], str]:
    archive = download_access(api, org, smtp, p, state, **extra)
    return json.loads(archive.read("data.json")), archive.read("summary.html").decode()


def test_access_package_covers_the_period_on_the_request(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    months = load_rules().california.access_never_disclose.lookback_months
    assert load_rights_rules().access_period.default_for("CA") == "12_months"
    s = seed(rt, org.id)
    p = s.person
    now = dt.datetime.now(dt.UTC)
    old = months_before(now, months) - dt.timedelta(days=3)
    recent = now - dt.timedelta(days=30)
    _age(rt, org, s.subject_id, "user.contact.address", old)
    _call(rt, org, s.subject_id, old)
    _call(rt, org, s.subject_id, recent)
    _disclose(rt, org, s.subject_id, old)
    _disclose(rt, org, s.subject_id, recent)

    data, summary = _download(api, org, smtp, "CA", p)  # the CA default
    assert data["period"]["period"] == "12_months"
    received = dt.datetime.fromisoformat(data["request"]["received_at"])
    assert data["period"]["from"] == months_before(received, months).isoformat()
    cats = {c["category"]: c for c in data["categories"]}
    assert "user.contact.address" not in cats and "user.contact.email" in cats
    assert [i["started_at"] for i in data["interactions"]] == [recent.isoformat()]
    assert [d["disclosed_at"] for d in data["disclosures"]] == [recent.isoformat()]
    assert p.street not in json.dumps(data) and p.street not in summary
    # The identities are how the person is known now: always listed.
    assert {i["kind"] for i in data["identities"]} == {"email", "phone"}
    assert f"{months} months before your request" in summary
    assert months_before(received, months).strftime("%Y-%m-%d") in summary

    data, summary = _download(api, org, smtp, "CA", p, period="all")
    assert data["period"] == {
        "period": "all",
        "from": None,
        "to": None,
        "covers": "all personal information we hold about you",
    }
    (address,) = [c for c in data["categories"] if c["category"] == "user.contact.address"][0][
        "records"
    ]
    assert address["value"] == p.street
    assert len(data["interactions"]) == 2 and len(data["disclosures"]) == 2
    assert "all personal information we hold about you" in summary


def test_other_states_default_to_all_and_bad_periods_are_refused(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    state = next(c for c in load_rules().states if c != "CA")
    assert load_rights_rules().access_period.default_for(state) == "all"
    s = seed(rt, org.id, jurisdiction=state)
    p = s.person
    _age(rt, org, s.subject_id, "user.contact.address", dt.datetime(2020, 5, 1, tzinfo=dt.UTC))
    data, _ = _download(api, org, smtp, state, p)
    assert data["period"]["period"] == "all"
    assert any(c["category"] == "user.contact.address" for c in data["categories"])

    def count() -> int:
        with rt.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(RightsRequest)) or 0)

    before = count()
    cases = [
        ({"type": "delete", "period": "all"}, "body.period"),
        ({"type": "access_specific", "period": "6_months"}, "body.period"),
        ({"type": "portability", "period": 12}, "body.period"),
    ]
    for extra, field in cases:
        answer = api.post(public(org), json={"jurisdiction": "CA", "email": p.email, **extra})
        assert answer.status_code == 422, (extra, answer.text)
        assert field in [e["field"] for e in answer.json()["errors"]], answer.text
        staff = api.post(
            "/v1/requests",
            json={"jurisdiction": "CA", "email": p.email, "manner": "phone", **extra},
            headers=org.headers(Role.AGENT),
        )
        assert staff.status_code == 422, (extra, staff.text)
        assert field in [e["field"] for e in staff.json()["errors"]], staff.text
    assert count() == before


def test_rules_file_naming_an_unknown_type_is_refused() -> None:
    text = resources.files("honorbound.rights").joinpath("data/requests.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    RightsRules.model_validate(data)  # the shipped file is valid
    data["free_requests"]["types"].append("acces_specific")
    with pytest.raises(ValidationError, match=r"free_requests.types: .*acces_specific"):
        RightsRules.model_validate(data)


def test_colorado_portability_is_free_twice_per_calendar_year(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    """us-rules.yaml: CO portability twice per calendar year (reference s.1; C.R.S.
    6-1-1306(1)(e)). A request from last December does not count in January, though it is
    within 12 months; the third of the same year is flagged with the calendar year."""
    (own,) = load_rules().state("CO").free_requests_by_type
    assert own.types == ["portability"] and own.count == 2 and own.window == "calendar_year"
    headers = org.headers(Role.AGENT)
    now = dt.datetime.now(dt.UTC)
    january = dt.datetime(now.year, 1, 1, 0, 30, tzinfo=dt.UTC)  # in the past but at New Year
    last_december = january - dt.timedelta(days=2)

    def logged(email: str, when: dt.datetime) -> dict[str, Any]:
        answer = api.post(
            "/v1/requests",
            json={
                "type": "portability",
                "jurisdiction": "CO",
                "email": email,
                "manner": "mail",
                "received_at": when.isoformat(),
            },
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        # Close it the way staff would, so the next one is a new request, not a duplicate.
        with rt.db.session() as session:
            session.execute(
                update(RightsRequest)
                .where(RightsRequest.id == answer.json()["id"])
                .values(status="completed", response="complied")
            )
        return dict(answer.json())

    p = seed(rt, org.id, jurisdiction="CO").person
    assert logged(p.email, last_december)["excess_request"] is None
    assert logged(p.email, january)["excess_request"] is None
    _ask(api, org, "portability", "CO", p.email)  # the second this year: free
    assert _staff_list(api, org)[-1]["excess_request"] is None
    with rt.db.session() as session:  # close it too
        session.execute(
            update(RightsRequest)
            .where(RightsRequest.organization_id == org.id)
            .values(status="completed", response="complied")
        )
    _ask(api, org, "portability", "CO", p.email)  # the third this year
    flagged = _staff_list(api, org)[-1]
    assert flagged["excess_request"] == 3
    detail = api.get(
        f"/v1/requests/{flagged['id']}", headers=org.headers(Role.PRIVACY_OFFICER)
    ).json()
    (event,) = [e for e in detail["events"] if e["kind"] == "excess_request"]
    assert event["details"]["window"] == "calendar year" and event["details"]["free"] == 2
    assert "CO" in event["details"]["source"] and "6-1-1306" in event["details"]["source"]
    # Access requests in CO are not limited by this rule, and the portability requests do not
    # count toward CO's general free request (once per 12 months): this is the first access.
    _ask(api, org, "access_specific", "CO", p.email)
    assert _staff_list(api, org)[-1]["excess_request"] is None


def test_per_type_limits_name_known_request_types() -> None:
    known = set(load_rights_rules().types)
    for state, row in load_rules().states.items():
        for own in row.free_requests_by_type:
            assert set(own.types) <= known, (state, own.types)
