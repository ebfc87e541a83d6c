"""Requests said in conversations, through the real ASGI app and database: the ingest API
(`POST /v1/subjects/{id}/interactions`), the contact-decision API, the ledger, the rights
queue and the staff review queue."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.consent.models import ConsentEvent
from honorbound.intents.models import ConversationIntent
from honorbound.policy.store import adopt_text
from honorbound.rights.models import RequestToken, RightsRequest
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant
from tests.support.people import Person, person

STARTED = "2026-11-20T15:00:00+00:00"
ENDED = "2026-11-20T15:09:00+00:00"
# Call transcripts declared (the example notice declares chat logs only), for customers.
TRANSCRIPTS = """  - key: user.contact_center.transcript
    label: Call transcripts
    examples: [transcripts of calls with us]
    subjects: [user]
"""


def _adopt(runtime: Runtime, tenant: Tenant, review: bool = False) -> None:
    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "  - key: user.contact_center.chat_log\n",
        TRANSCRIPTS + "  - key: user.contact_center.chat_log\n",
    )
    if review:
        text += "\nconversations:\n  opt_outs: review\n"
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, text, Actor("test", "system"), jobs=runtime.jobs)


def _subject(client: TestClient, tenant: Tenant, state: str | None = "CA") -> tuple[int, Person]:
    who = person()
    body: dict[str, Any] = {
        "type": "user",
        "identities": [
            {"kind": "email", "value": who.email},
            {"kind": "phone", "value": who.phone},
        ],
    }
    if state:
        body["jurisdiction"] = state
    response = client.post("/v1/subjects", json=body, headers=tenant.headers(Role.AGENT))
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), who


def _ingest(
    client: TestClient,
    tenant: Tenant,
    sid: int,
    text: str,
    channel: str = "call",
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "channel": channel,
        "direction": "inbound",
        "started_at": STARTED,
        "ended_at": ENDED,
        "text": text,
        **extra,
    }
    response = client.post(
        f"/v1/subjects/{sid}/interactions", json=body, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def _decision(client: TestClient, tenant: Tenant, identity: str, channel: str) -> list[str]:
    response = client.post(
        "/v1/contact-decisions",
        json={"items": [{"identity": identity, "purpose": "marketing", "channel": channel}]},
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code == 200, response.text
    reasons: list[str] = response.json()["results"][0]["reasons"]
    return reasons


def _count(runtime: Runtime, model: Any) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _events(runtime: Runtime) -> list[ConsentEvent]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
        session.expunge_all()
        return rows


CALL = (
    "Agent: thank you for calling, how can I help you today?\n"
    "Customer: hi, I keep getting these calls. please stop calling me\n"
    "Agent: I understand, I'll make a note of that."
)


def test_an_opt_out_said_in_a_call_makes_the_next_call_decision_say_no(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant)
    sid, who = _subject(client, tenant)
    assert "opted_out" not in _decision(client, tenant, who.phone, "voice")

    out = _ingest(client, tenant, sid, CALL)
    assert [(i["kind"], i["status"]) for i in out["intents"]] == [("opt_out", "applied")]

    assert "opted_out" in _decision(client, tenant, who.phone, "voice")
    # "stop calling me" concerns calls: email is still decided on its own.
    assert "opted_out" not in _decision(client, tenant, who.email, "email")

    events = _events(runtime)
    assert {(e.source, e.channel, e.purpose, e.action) for e in events} == {
        ("conversation", "voice", "all", "opt_out")
    }
    assert len(events) == 2  # one per identity of the subject (email and phone)
    evidence = json.loads(events[0].evidence)
    start = CALL.index("please stop calling me")
    assert evidence["interaction_id"] == out["id"]
    assert evidence["span"] == f"{start}-{start + len('please stop calling me')}"
    # No words of the transcript in the event.
    raw = " ".join(e.evidence for e in events).lower()
    assert "stop" not in raw and "calling" not in raw
    # Dated when the call ended: the latest moment it can have been said.
    assert events[0].occurred_at.isoformat().startswith("2026-11-20T15:09")


def test_the_same_interaction_ingested_again_acts_once(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant)
    sid, _ = _subject(client, tenant)
    first = _ingest(client, tenant, sid, CALL)
    again = _ingest(client, tenant, sid, CALL)  # no Idempotency-Key: a second row in the vault
    assert again["id"] != first["id"]
    assert [i["id"] for i in again["intents"]] == [i["id"] for i in first["intents"]]
    assert _count(runtime, ConsentEvent) == 2
    assert _count(runtime, ConversationIntent) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Agent: you can say stop calling me at any time and we will.\nCustomer: okay thanks",
        "Customer: I don't want you to stop calling me, the offers are good",
        "Customer: should I stop? do I have to take me off your list?",
        "Customer: what if I say unsubscribe me?",
        "Customer: don't delete my account please",
        "Cliente: no borren mis datos por favor",
    ],
)
def test_agents_negations_and_questions_do_not_act(
    client: TestClient, runtime: Runtime, tenant: Tenant, text: str
) -> None:
    _adopt(runtime, tenant)
    sid, who = _subject(client, tenant)
    out = _ingest(client, tenant, sid, text)
    assert out["intents"] == []
    assert _count(runtime, ConsentEvent) == 0
    assert _count(runtime, RightsRequest) == 0
    assert "opted_out" not in _decision(client, tenant, who.phone, "voice")


def test_spanish_opt_out_in_a_chat(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    _adopt(runtime, tenant)
    sid, who = _subject(client, tenant)
    out = _ingest(
        client,
        tenant,
        sid,
        "Agente: hola, ¿en qué le puedo ayudar?\nCliente: no me llamen más por favor",
        channel="chat",
    )
    assert [i["status"] for i in out["intents"]] == ["applied"]
    assert {(e.channel, e.source) for e in _events(runtime)} == {("voice", "conversation")}
    assert "opted_out" in _decision(client, tenant, who.phone, "voice")


def test_review_setting_queues_and_staff_confirm_or_dismiss(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant, review=True)
    sid, who = _subject(client, tenant)
    out = _ingest(client, tenant, sid, CALL)
    assert [(i["status"], i["review_reason"]) for i in out["intents"]] == [("queued", "setting")]
    assert _count(runtime, ConsentEvent) == 0
    assert "opted_out" not in _decision(client, tenant, who.phone, "voice")

    listed = client.get("/v1/conversation-intents", headers=tenant.headers(Role.PRIVACY_OFFICER))
    assert listed.status_code == 200, listed.text
    [row] = listed.json()
    assert (row["kind"], row["channel"], row["speaker"]) == ("opt_out", "voice", "customer")
    assert "text" not in row

    # A connected system's key may not decide; staff may.
    denied = client.post(
        f"/v1/conversation-intents/{row['id']}/confirm", headers=tenant.headers(Role.CLIENT)
    )
    assert denied.status_code == 403
    confirmed = client.post(
        f"/v1/conversation-intents/{row['id']}/confirm", headers=tenant.headers(Role.AGENT)
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert "opted_out" in _decision(client, tenant, who.phone, "voice")
    twice = client.post(
        f"/v1/conversation-intents/{row['id']}/dismiss", headers=tenant.headers(Role.AGENT)
    )
    assert twice.status_code == 409
    assert twice.headers["content-type"].startswith("application/problem+json")

    other, who2 = _subject(client, tenant)
    queued = _ingest(client, tenant, other, "Customer: take me off your list")["intents"][0]
    dismissed = client.post(
        f"/v1/conversation-intents/{queued['id']}/dismiss", headers=tenant.headers(Role.AGENT)
    )
    assert dismissed.json()["status"] == "dismissed"
    assert "opted_out" not in _decision(client, tenant, who2.phone, "voice")
    missing = client.post("/v1/conversation-intents/999999/confirm", headers=tenant.headers())
    assert missing.status_code == 404


def test_unknown_speaker_is_queued_even_when_the_setting_applies(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant)
    sid, _ = _subject(client, tenant)
    out = _ingest(client, tenant, sid, "speaker 1: thanks for calling\nspeaker 2: stop calling me")
    assert [(i["status"], i["review_reason"]) for i in out["intents"]] == [
        ("queued", "unknown_speaker")
    ]
    assert _count(runtime, ConsentEvent) == 0


def _request(runtime: Runtime, request_id: int) -> RightsRequest:
    with runtime.db.session() as session:
        row = session.get(RightsRequest, request_id)
        assert row is not None
        session.expunge(row)
        return row


def _tokens(runtime: Runtime, request_id: int) -> int:
    with runtime.db.session() as session:
        query = select(func.count()).where(RequestToken.request_id == request_id)
        return int(session.scalar(query) or 0)


def test_a_rights_request_said_in_a_chat_opens_a_request_with_the_clock_from_then(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant)
    sid, _ = _subject(client, tenant)
    out = _ingest(
        client,
        tenant,
        sid,
        "Agent: anything else?\nCustomer: yes, please delete my data",
        channel="chat",
    )
    [acted] = out["intents"]
    assert (acted["kind"], acted["status"]) == ("rights_request", "applied")
    with runtime.db.session() as session:
        intent = session.get(ConversationIntent, acted["id"])
        assert intent is not None
        request_id = intent.rights_request_id
    assert request_id is not None
    detail = client.get(f"/v1/requests/{request_id}", headers=tenant.headers(Role.PRIVACY_OFFICER))
    assert detail.status_code == 200, detail.text
    data = detail.json()
    assert data["type"] == "delete"
    assert data["received_at"].startswith("2026-11-20T15:00")  # the interaction's start
    assert data["status"] == "verifying"  # a deletion is verified (11 CCR 7062(d))
    said = [e for e in data["events"] if e["kind"] == "said_in_conversation"]
    assert said and said[0]["details"]["needs_verification"] is True
    assert said[0]["details"]["type_confidence"] == 0.9
    assert _tokens(runtime, request_id) >= 1


def test_an_opt_out_of_sale_said_in_a_call_sends_no_verification(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant)
    sid, _ = _subject(client, tenant)
    out = _ingest(client, tenant, sid, "Customer: and do not sell my personal information")
    [acted] = out["intents"]
    with runtime.db.session() as session:
        intent = session.get(ConversationIntent, acted["id"])
        assert intent is not None and intent.rights_request_id is not None
        request_id = intent.rights_request_id
    request = _request(runtime, request_id)
    assert request.type == "opt_out_sale"
    assert request.status != "verifying"
    assert _tokens(runtime, request_id) == 0  # 11 CCR 7026: no verification link


def test_a_request_of_a_subject_whose_state_is_unknown_waits_for_staff(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant)
    sid, _ = _subject(client, tenant, state=None)
    out = _ingest(client, tenant, sid, "Cliente: quiero que borren mis datos", channel="chat")
    [acted] = out["intents"]
    assert (acted["status"], acted["review_reason"]) == ("queued", "needs_details")
    assert _count(runtime, RightsRequest) == 0
    no_state = client.post(
        f"/v1/conversation-intents/{acted['id']}/confirm", headers=tenant.headers(Role.AGENT)
    )
    assert no_state.status_code == 422
    assert no_state.json()["errors"][0]["field"] == "body.jurisdiction"
    not_a_state = client.post(
        f"/v1/conversation-intents/{acted['id']}/confirm",
        json={"jurisdiction": "ZZ"},
        headers=tenant.headers(Role.AGENT),
    )
    assert not_a_state.status_code == 422, not_a_state.text
    assert not_a_state.json()["errors"][0]["field"] == "body.jurisdiction"
    wrong_type = client.post(
        f"/v1/conversation-intents/{acted['id']}/confirm",
        json={"jurisdiction": "TX", "request_type": "appeal"},
        headers=tenant.headers(Role.AGENT),
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["field"] == "body.request_type"
    done = client.post(
        f"/v1/conversation-intents/{acted['id']}/confirm",
        json={"jurisdiction": "TX"},
        headers=tenant.headers(Role.AGENT),
    )
    assert done.status_code == 200, done.text
    request = _request(runtime, done.json()["rights_request_id"])
    assert (request.type, request.jurisdiction) == ("delete", "TX")
    assert request.received_at.isoformat().startswith("2026-11-20T15:00")
