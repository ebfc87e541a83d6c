"""Bad input never gets a 500: huge paging numbers, deeply nested bodies and evidence, NUL
characters (PostgreSQL cannot store them); the OpenAPI document names every error answer as a
problem document; public HTML pages carry a Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.consent import links
from honorbound.consent.identity import identify
from honorbound.policy.store import AdoptedPolicy
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person

HUGE = [2**31, 2**63 - 1, 2**63, 2**64, 10**30]
PAGED = [
    ("/v1/outbox", "offset"),
    ("/v1/requests", "offset"),
    ("/v1/disclosures", "offset"),
    ("/v1/retention/disposals", "offset"),
    ("/v1/audit/entries", "after_seq"),
]


@pytest.mark.parametrize(("path", "param"), PAGED)
def test_huge_paging_numbers_are_422_or_empty(
    client: TestClient, tenant: Tenant, path: str, param: str
) -> None:
    for value in HUGE:
        response = client.get(path, params={param: value}, headers=tenant.headers(Role.ADMIN))
        assert response.status_code in (200, 422), (path, value, response.text)
        if response.status_code == 422:
            assert param in response.text


def test_json_nested_beyond_the_parser_is_a_400(client: TestClient, tenant: Tenant) -> None:
    depth = 200_000  # about 400 kB: under the body limit
    body = ('{"a":' * depth + "1" + "}" * depth).encode()
    response = client.post(
        "/v1/consent/events",
        content=body,
        headers={**tenant.headers(Role.ADMIN), "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text


def test_deep_evidence_is_a_422(
    client: TestClient, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    created = client.post(
        "/v1/subjects",
        json={"identities": [{"kind": "email", "value": person().email}], "type": "user"},
        headers=tenant.headers(Role.AGENT),
    )
    assert created.status_code == 201, created.text
    subject_id = created.json()["id"]
    evidence: dict[str, object] = {}
    node = evidence
    for _ in range(300):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    response = client.post(
        f"/v1/subjects/{subject_id}/records",
        json={
            "category": "user.contact.email",
            "value": "x",
            "purposes": ["support"],
            "source": "test",
            "consent": {"opt_in": True, "evidence": evidence},
        },
        headers=tenant.headers(Role.ADMIN),
    )
    assert response.status_code == 422, response.text
    assert "nested deeper" in response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/retention/holds", {"reason": "lit\u0000igation", "owner": "legal"}),
        ("/v1/retention/holds", {"reason": "litigation", "owner": "le\u0000gal"}),
        (
            "/v1/consent/events",
            {
                "identity": "nul@example.com",
                "purpose": "marketing",
                "channel": "email",
                "action": "opt_out",
                "source": "api",
                "evidence": {"form": "a\u0000b"},
            },
        ),
        ("/v1/dnc/company", {"phone": "+12125550100\u0000", "source": "call"}),
    ],
)
def test_nul_characters_are_never_a_500(
    client: TestClient, tenant: Tenant, path: str, body: dict[str, object]
) -> None:
    response = client.post(path, json=body, headers=tenant.headers(Role.ADMIN))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


def test_openapi_documents_every_error_answer(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1/")
    ]
    assert len(operations) > 40
    bodiless: list[tuple[str, str, str]] = []
    for path, method, op in operations:
        for status in ("401", "403", "404", "409", "413", "422", "429"):
            answer = op["responses"].get(status)
            assert answer is not None, (method, path, status)
            if "content" not in answer:
                # Only a route that declares a bodiless answer itself (DRP s.2.05.1's 403).
                assert "no body" in answer["description"], (method, path, status)
                bodiless.append((method, path, status))
                continue
            assert "application/problem+json" in answer["content"], (method, path, status)
    assert bodiless == [("post", "/v1/agent/{agent_id}", "403")], bodiless


def _csp(response_headers: dict[str, str]) -> str:
    csp = response_headers.get("content-security-policy", "")
    assert "default-src" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    return csp


def test_unsubscribe_page_has_a_csp(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    bad = client.get("/u/not-a-token")
    _csp(dict(bad.headers))
    ref = identify(runtime.keys, tenant.id, person().email)
    token = links.issue(runtime.keys, tenant.id, ref, "newsletter")
    good = client.get(f"/u/{token}")
    assert good.status_code == 200, good.text
    _csp(dict(good.headers))


def test_public_notice_has_a_csp_allowing_only_its_own_style(
    client: TestClient, tenant: Tenant, adopted_policy: AdoptedPolicy
) -> None:
    page = client.get(f"/v1/public/orgs/{tenant.slug}/notice")
    assert page.status_code == 200
    csp = _csp(dict(page.headers))
    assert "unsafe-inline" not in csp
    styles = re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL)
    assert styles
    for style in styles:
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
