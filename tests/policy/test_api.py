"""The policy API and the public notice, through the real ASGI app."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.policy.models import PolicyVersion
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant

CC1 = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
YAML = {"Content-Type": "application/yaml"}


def _adopt(client: TestClient, tenant: Tenant, text: str = CC1, role: Role = Role.ADMIN):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/policy/versions", content=text.encode(), headers={**tenant.headers(role), **YAML}
    )


def test_adopt_yaml_then_read_current_and_versions(client: TestClient, tenant: Tenant) -> None:
    created = _adopt(client, tenant)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"] == 1 and len(body["content_hash"]) == 64
    assert body["declaration"]["organization"]["name"] == "Contact Center 1"
    again = _adopt(client, tenant)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    current = client.get("/v1/policy", headers=tenant.headers(Role.AGENT))
    assert current.status_code == 200 and current.json()["id"] == body["id"]
    listed = client.get("/v1/policy/versions", headers=tenant.headers(Role.AUDITOR)).json()
    assert [v["number"] for v in listed] == [1]
    one = client.get(f"/v1/policy/versions/{body['id']}", headers=tenant.headers())
    assert one.json()["declaration"]["schema"] == "honorbound/declaration/v1"


def test_adopt_json_body_and_diff(client: TestClient, tenant: Tenant) -> None:
    first = client.post("/v1/policy/versions", json={"text": CC1}, headers=tenant.headers())
    assert first.status_code == 201
    longer = CC1.replace("period: P6Y", "period: P7Y")
    second = client.post("/v1/policy/versions", json={"text": longer}, headers=tenant.headers())
    assert second.status_code == 201 and second.json()["material"] is True
    d = client.get(f"/v1/policy/versions/{second.json()['id']}/diff", headers=tenant.headers())
    assert d.status_code == 200
    assert d.json()["from_number"] == 1 and d.json()["to_number"] == 2 and d.json()["material"]
    assert {c["kind"] for c in d.json()["changes"]} == {"longer_retention"}
    back = client.get(
        f"/v1/policy/versions/{first.json()['id']}/diff",
        params={"against": second.json()["id"]},
        headers=tenant.headers(),
    ).json()
    assert back["material"] is False and back["changes"][0]["kind"] == "shorter_retention"


def test_invalid_declaration_is_422_with_lines_and_adopts_nothing(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    broken = CC1.replace("  - key: user.health_and_medical\n", "  - key: user.helth_and_medical\n")
    response = _adopt(client, tenant, broken)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    line = CC1.splitlines().index("  - key: user.health_and_medical") + 1
    assert {
        "field": f"line {line}",
        "message": "category 'user.helth_and_medical' is not in the taxonomy; "
        "did you mean 'user.health_and_medical'?",
    } in problem["errors"]
    assert "Nothing was adopted" in problem["detail"]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 0


def test_bad_bodies_are_clear_problems(client: TestClient, tenant: Tenant) -> None:
    extra = client.post(
        "/v1/policy/versions", json={"text": CC1, "force": True}, headers=tenant.headers()
    )
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "body.force"
    missing = client.post("/v1/policy/versions", json={}, headers=tenant.headers())
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.text"
    not_json = client.post(
        "/v1/policy/versions",
        content=b"{nope",
        headers={**tenant.headers(), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    wrong_type = client.post(
        "/v1/policy/versions",
        content=b"<xml/>",
        headers={**tenant.headers(), "Content-Type": "application/xml"},
    )
    assert wrong_type.status_code == 415
    garbage = _adopt(client, tenant, "schema: [unclosed\n")
    assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "line 2"


def test_only_managers_adopt(client: TestClient, tenant: Tenant) -> None:
    assert _adopt(client, tenant, role=Role.AGENT).status_code == 403
    assert _adopt(client, tenant, role=Role.PRIVACY_OFFICER).status_code == 201


def test_no_policy_yet_is_404(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/v1/policy", headers=tenant.headers())
    assert response.status_code == 404 and response.json()["title"] == "No notice adopted"
    assert client.get(f"/v1/public/orgs/{tenant.slug}/notice").status_code == 404


def test_other_organizations_versions_are_not_found(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    version_id = _adopt(client, tenant).json()["id"]
    for path in (f"/v1/policy/versions/{version_id}", f"/v1/policy/versions/{version_id}/diff"):
        assert client.get(path, headers=other_tenant.headers()).status_code == 404
    assert client.get("/v1/policy", headers=other_tenant.headers()).status_code == 404


def test_public_notice_html_json_and_history(client: TestClient, tenant: Tenant) -> None:
    _adopt(client, tenant)
    _adopt(client, tenant, CC1.replace("effective_date: 2024-07-23", "effective_date: 2024-08-01"))
    page = client.get(f"/v1/public/orgs/{tenant.slug}/notice")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Contact Center 1 US Privacy Notice" in page.text
    assert page.text.count('<table class="category"') == 12
    assert f'href="http://testserver/v1/public/orgs/{tenant.slug}/notice.json"' in page.text
    assert "Residents of California, Colorado" in page.text
    md = client.get(f"/v1/public/orgs/{tenant.slug}/notice", params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "| Sale |" in md.text
    doc = client.get(f"/v1/public/orgs/{tenant.slug}/notice.json").json()
    assert doc["version"] == 2 and doc["declaration"]["effective_date"] == "2024-08-01"
    history = client.get(f"/v1/public/orgs/{tenant.slug}/notice/versions").json()
    assert [h["number"] for h in history] == [2, 1]
    assert history[0]["changes"] == ["'effective_date' changed"]
    old = client.get(f"/v1/public/orgs/{tenant.slug}/notice/versions/1")
    assert old.status_code == 200 and "July 23, 2024" in old.text
    assert client.get(f"/v1/public/orgs/{tenant.slug}/notice/versions/9").status_code == 404
    assert client.get("/v1/public/orgs/no-such-org/notice").status_code == 404


def test_adopting_shows_the_state_rule_warnings(client: TestClient, tenant: Tenant) -> None:
    """The API adopts with the same warnings `honorbound policy check` prints: a response
    time longer than a state allows does not block adoption but is said."""
    slower = CC1.replace("response_days: 45", "response_days: 60", 1)
    assert slower != CC1
    adopted = _adopt(client, tenant, slower)
    assert adopted.status_code == 201, adopted.text
    warnings = adopted.json()["warnings"]
    assert any("60 days" in w["message"] and "allows 45" in w["message"] for w in warnings)
    assert all(isinstance(w["line"], int) and w["line"] > 0 for w in warnings)
    plain = _adopt(client, tenant, CC1)
    assert not any("allows 45" in w["message"] for w in plain.json()["warnings"])


def test_applicability_lists_laws_and_obligations_from_the_declared_facts(
    client: TestClient, tenant: Tenant
) -> None:
    facts = (
        "applicability:\n"
        "  consumers_by_state: {CA: 300000, CT: 40000, TX: 500}\n"
        "  annual_revenue_usd: 120000000\n"
        "  small_business: false\n"
        "  automated_decisions: false\n"
        "  employees: 900\n"
        "  nonprofit: false\n"
    )
    assert client.get("/v1/policy/applicability", headers=tenant.headers()).status_code == 404
    text = CC1.replace("\nchildren:", "\n" + facts + "children:", 1)
    assert _adopt(client, tenant, text).status_code == 201
    answer = client.get(
        "/v1/policy/applicability", params={"on": "2026-12-02"}, headers=tenant.headers(Role.AGENT)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    laws = {law["state"]: law for law in body["laws"]}
    assert laws["CA"]["status"] == "applies" and laws["CA"]["cure"] == "no cure period"
    assert laws["CT"]["status"] == "applies"  # 35,000 from 2026-07-01
    assert laws["TX"]["status"] == "applies"  # not a small business
    assert laws["VA"]["status"] == "does_not_apply"  # no VA consumers declared
    assert laws["OK"]["in_force"] is False and laws["OK"]["effective"] == "2027-01-01"
    assert all(law["reasons"] for law in body["laws"])
    obligations = {o["id"]: o for o in body["obligations"]}
    assert obligations["ca_admt"]["status"] == "does_not_apply"
    assert obligations["ca_risk_assessment"]["status"] == "applies"  # sensitive data
    audit = obligations["ca_cyber_audit"]
    assert audit["status"] == "applies" and [d["due"] for d in audit["deadlines"]] == ["2028-04-01"]
    assert any(u.startswith("TX:") for u in body["unconfirmed"])
    bad = client.get("/v1/policy/applicability", params={"on": "soon"}, headers=tenant.headers())
    assert bad.status_code == 422
