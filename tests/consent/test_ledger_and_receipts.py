"""The ledger API, idempotency, audit entries without personal values, and signed receipts."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.audit.models import AuditEntry
from honorbound.consent import receipts
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person

KANTARA_REQUIRED = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
}


def _events(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def _post(client: TestClient, tenant: Tenant, **body: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/consent/events", json=body, headers=tenant.headers(Role.AGENT))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_record_then_lookup_history_and_state(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    who = person()
    _post(
        client,
        tenant,
        identity=who.email,
        purpose="marketing",
        channel="email",
        action="opt_in",
        source="web_form",
        ip="203.0.113.9",
        user_agent="Mozilla/5.0",
        evidence={"text_shown": "Send me offers", "policy_version": "3"},
    )
    out = _post(
        client,
        tenant,
        identity=who.email.upper(),
        purpose="marketing",
        channel="email",
        action="opt_out",
        source="agent_verbal",
        evidence={"recording_ref": "call-77"},
    )
    assert out["created"] is True
    look = client.post(
        "/v1/consent/lookup", json={"identity": who.email}, headers=tenant.headers(Role.AUDITOR)
    )
    assert look.status_code == 200
    body = look.json()
    assert [e["action"] for e in body["events"]] == ["opt_in", "opt_out"]
    assert body["state"] == [
        {
            "purpose": "marketing",
            "channel": "email",
            "scope": "",
            "action": "opt_out",
            "since": body["events"][1]["recorded_at"],
        }
    ]
    first = body["events"][0]["evidence"]
    assert set(first) == {"text_shown", "policy_version", "ip_hash", "user_agent_hash"}
    assert "203.0.113.9" not in look.text and "Mozilla" not in look.text
    # The audit trail records the change without the address.
    with runtime.db.session() as session:
        details = [
            e.details
            for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("consent.%")))
        ]
    assert len(details) == 2 and who.email not in json.dumps(details)


def test_external_ref_makes_recording_idempotent(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    who = person().phone
    body = {
        "identity": who,
        "purpose": "all",
        "channel": "sms",
        "action": "opt_out",
        "source": "ivr_keypad",
        "external_ref": "ivr:call-1234",
    }
    first = _post(client, tenant, **body)
    second = _post(client, tenant, **body)
    assert second["created"] is False and second["id"] == first["id"]
    assert _events(runtime) == 1


def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    who = person().email
    base = {
        "identity": who,
        "purpose": "marketing",
        "channel": "email",
        "action": "opt_out",
        "source": "web_form",
    }
    cases = [
        ({"purpose": "fun"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"action": "maybe"}, "action"),
        ({"source": "rumour"}, "source"),
        ({"identity": "nobody@"}, "identity"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T10:00:00Z"}, "occurred_at"),
        ({"evidence": {"password": "x"}}, "evidence"),
        ({"surprise": 1}, "surprise"),
    ]
    for change, field in cases:
        response = client.post(
            "/v1/consent/events", json={**base, **change}, headers=tenant.headers()
        )
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(field in e["field"] for e in response.json()["errors"]), (
            change,
            response.json(),
        )
        assert who not in response.text
    assert _events(runtime) == 0
    # Auditors read, they do not write.
    response = client.post("/v1/consent/events", json=base, headers=tenant.headers(Role.AUDITOR))
    assert response.status_code == 403


def test_receipt_is_kantara_shaped_and_verifies_with_published_jwks(
    client: TestClient, tenant: Tenant
) -> None:
    who = person().email
    out = _post(
        client,
        tenant,
        identity=who,
        purpose="sensitive_data_use",
        channel="all",
        action="opt_in",
        source="web_form",
        evidence={"policy_version": "7"},
    )
    jwks = client.get("/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    claims = receipts.verify(jwks, out["receipt"])
    assert set(claims) >= KANTARA_REQUIRED
    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["consentReceiptID"] == out["receipt_id"]
    assert claims["sensitive"] is True
    assert claims["services"][0]["purposes"][0]["purpose"] == "sensitive_data_use"
    assert who not in json.dumps(claims)
    header = json.loads(base64.urlsafe_b64decode(out["receipt"].split(".")[0] + "=="))
    assert header["alg"] == "EdDSA"
    # The person retrieves it by receipt id, without an API key.
    public = client.get(f"/v1/public/consent/receipts/{out['receipt_id']}")
    assert public.status_code == 200
    assert receipts.verify(jwks, public.json()["receipt"]) == claims
    # Any change to the payload breaks the signature.
    head, payload, sig = out["receipt"].split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["hb"]["action"] = "opt_out"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    try:
        receipts.verify(jwks, f"{head}.{forged_payload}.{sig}")
    except receipts.ReceiptError:
        pass
    else:
        raise AssertionError("a forged receipt verified")


def test_receipt_lookup_errors(client: TestClient) -> None:
    assert client.get("/v1/public/consent/receipts/not-a-uuid").status_code == 422
    missing = client.get("/v1/public/consent/receipts/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


def test_event_by_id_is_tenant_scoped(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    out = _post(
        client,
        tenant,
        identity=person().email,
        purpose="sale",
        channel="all",
        action="opt_out",
        source="rights_request",
    )
    mine = client.get(f"/v1/consent/events/{out['id']}", headers=tenant.headers())
    assert mine.status_code == 200 and mine.json()["receipt_id"] == out["receipt_id"]
    assert (
        client.get(f"/v1/consent/events/{out['id']}", headers=other_tenant.headers()).status_code
        == 404
    )
