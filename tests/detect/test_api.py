"""POST /v1/detect/scan, /redact and /reveal through the real app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from tests.conftest import Tenant
from tests.detect.conftest import Fakes


def test_scan_and_redact(client: TestClient, tenant: Tenant, fakes: Fakes) -> None:
    card, email = fakes.card(), fakes.email()
    texts = [f"card {card}", f"mail {email} and please stop calling me", ""]
    response = client.post(
        "/v1/detect/scan", json={"texts": texts}, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [[f["type"] for f in r["findings"]] for r in results] == [
        ["CREDIT_CARD"],
        ["EMAIL_ADDRESS", "OPT_OUT_REQUEST"],
        [],
    ]
    assert results[0]["findings"][0] == {
        "type": "CREDIT_CARD",
        "start": 5,
        "end": 5 + len(card),
        "score": 0.95,
    }
    only = client.post(
        "/v1/detect/scan",
        json={"texts": texts, "entities": ["OPT_OUT_REQUEST"]},
        headers=tenant.headers(Role.AGENT),
    ).json()["results"]
    assert [[f["type"] for f in r["findings"]] for r in only] == [[], ["OPT_OUT_REQUEST"], []]
    redacted = client.post(
        "/v1/detect/redact",
        json={"texts": texts[:2], "operator": "mask"},
        headers=tenant.headers(Role.CLIENT),
    ).json()["results"]
    assert redacted[0]["text"] == f"card {'*' * 12}{card[-4:]}"


def test_pseudonyms_differ_between_organizations(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, fakes: Fakes
) -> None:
    body = {"texts": [f"card {fakes.card()}"], "operator": "pseudonym"}
    ours = client.post("/v1/detect/redact", json=body, headers=tenant.headers()).json()
    again = client.post("/v1/detect/redact", json=body, headers=tenant.headers()).json()
    theirs = client.post("/v1/detect/redact", json=body, headers=other_tenant.headers()).json()
    assert ours == again
    assert ours["results"][0]["text"] != theirs["results"][0]["text"]


def test_encrypt_then_reveal_by_privacy_officer_only(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, fakes: Fakes
) -> None:
    text = f"card {fakes.card()}"
    sealed = client.post(
        "/v1/detect/redact",
        json={"texts": [text], "operator": "encrypt"},
        headers=tenant.headers(Role.AGENT),
    ).json()["results"][0]["text"]
    assert "<enc:CREDIT_CARD:" in sealed
    for role in (Role.AGENT, Role.ADMIN, Role.AUDITOR):
        denied = client.post(
            "/v1/detect/reveal", json={"texts": [sealed]}, headers=tenant.headers(role)
        )
        assert denied.status_code == 403
    shown = client.post(
        "/v1/detect/reveal", json={"texts": [sealed]}, headers=tenant.headers(Role.PRIVACY_OFFICER)
    )
    assert shown.status_code == 200 and shown.json() == {"texts": [text]}
    foreign = client.post(
        "/v1/detect/reveal",
        json={"texts": [sealed]},
        headers=other_tenant.headers(Role.PRIVACY_OFFICER),
    )
    assert foreign.status_code == 422
    assert foreign.headers["content-type"].startswith("application/problem+json")
    audit = client.get("/v1/audit/entries", headers=tenant.headers(Role.AUDITOR))
    assert "detect.reveal" in audit.text


def test_bad_bodies_are_422_naming_the_field(client: TestClient, tenant: Tenant) -> None:
    cases = [
        ({"texts": []}, "texts"),
        ({"texts": ["a"], "operator": "blur"}, "operator"),
        ({"texts": ["a"], "extra": 1}, "extra"),
        ({"texts": [1]}, "texts"),
        ({"texts": ["a"], "entities": ["NOPE"]}, "entities"),
    ]
    for body, field in cases:
        response = client.post("/v1/detect/redact", json=body, headers=tenant.headers())
        assert response.status_code == 422, body
        assert field in response.text, body
    assert client.post("/v1/detect/scan", json={"texts": ["a"]}).status_code == 401


def test_pieces_of_one_value_share_a_value_id(client: TestClient, tenant: Tenant) -> None:
    text = (
        "Agent: card number?\nCustomer: 4111 1111\nAgent: okay\nCustomer: 1111 1111\nAgent: thanks"
    )
    response = client.post(
        "/v1/detect/scan", json={"texts": [text]}, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    found = response.json()["results"][0]["findings"]
    assert [text[f["start"] : f["end"]] for f in found] == ["4111 1111", "1111 1111"]
    assert found[0]["value_id"] == found[1]["value_id"] == found[0]["start"]
