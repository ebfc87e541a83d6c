from __future__ import annotations

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from tests.conftest import Tenant


def test_health_openapi_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert "/v1/api-keys" in spec["paths"]
    client.get("/healthz")
    metrics = client.get("/metrics").text
    assert 'honorbound_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


def test_invalid_json_is_400_problem(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/api-keys",
        content=b'{"name": "x", ',
        headers={**tenant.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "body", "message": "is not valid JSON"}]


def test_unknown_field_names_the_path(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/api-keys",
        json={"name": "x", "role": "agent", "colour": "red"},
        headers=tenant.headers(),
    )
    assert response.status_code == 422
    body = response.json()
    assert {"field": "body.colour", "message": "is not a known field"} in body["errors"]
    assert "body.colour" in body["detail"]


def test_bad_enum_value_names_the_path(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/api-keys", json={"name": "x", "role": "emperor"}, headers=tenant.headers()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.role"


def test_invalid_utf8_is_400(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/api-keys",
        content=b'{"name": "\xff\xfe", "role": "agent"}',
        headers={**tenant.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["title"]


def test_oversized_body_is_413(client: TestClient, tenant: Tenant) -> None:
    big = b'{"name": "' + b"a" * 2_000_000 + b'", "role": "agent"}'
    response = client.post(
        "/v1/api-keys",
        content=big,
        headers={**tenant.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 413
    with_keys = client.get("/v1/api-keys", headers=tenant.headers()).json()
    assert all(k["name"] != "a" * 10 for k in with_keys)


def test_api_key_lifecycle(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/v1/api-keys", json={"name": "crm", "role": "client"}, headers=tenant.headers()
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(f"hb_{created.json()['prefix']}_")
    listed = client.get("/v1/api-keys", headers=tenant.headers()).json()
    assert all("key" not in item for item in listed)
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["role"] == "client"
    revoked = client.delete(f"/v1/api-keys/{created.json()['id']}", headers=tenant.headers())
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_wrong_secret_same_prefix_is_rejected(client: TestClient, tenant: Tenant) -> None:
    key = tenant.keys[Role.ADMIN]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_roles_are_enforced(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/api-keys", json={"name": "x", "role": "admin"}, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 403
    assert "apikeys.manage" in response.json()["detail"]
    assert client.get("/v1/audit/entries", headers=tenant.headers(Role.AGENT)).status_code == 403
    assert client.get("/v1/audit/entries", headers=tenant.headers(Role.AUDITOR)).status_code == 200


def test_audit_api_lists_own_chain(client: TestClient, tenant: Tenant) -> None:
    entries = client.get("/v1/audit/entries", headers=tenant.headers(Role.AUDITOR)).json()
    assert entries[0]["action"] == "organization.created"
    status = client.get("/v1/audit/verify", headers=tenant.headers(Role.AUDITOR)).json()
    assert status["ok"] is True and status["entries"] == len(entries)


def test_oversized_path_id_is_bad_input_not_a_database_error(client, tenant):
    for path in ("/v1/outbox/99999999999", "/v1/api-keys/99999999999"):
        response = client.get(path, headers=tenant.headers())
        assert response.status_code == 422, path
        assert "message_id" in response.text or "key_id" in response.text


def test_bulk_endpoint_takes_larger_bodies_than_the_default(client, tenant) -> None:  # type: ignore[no-untyped-def]
    # 2 MB is over the default limit (1 MB) but within the bulk limit: it reaches the route
    # (and is refused there for what it is, not for its size).
    body = b'{"items": [' + b",".join([b'{"x": "' + b"a" * 100 + b'"}'] * 19000) + b"]}"
    assert len(body) > 1_048_576
    big = client.post(
        "/v1/contact-decisions",
        content=body,
        headers={**tenant.headers(), "content-type": "application/json"},
    )
    assert big.status_code != 413
    other = client.post(
        "/v1/api-keys",
        content=body,
        headers={**tenant.headers(), "content-type": "application/json"},
    )
    assert other.status_code == 413
