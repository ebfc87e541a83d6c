"""The national do-not-call list cannot be wiped by a lesser key or by a bad file: full and
delete imports need an admin, and one that removes more than the set share needs
confirmation. The count of rows is read with SQL, not through the import code."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.consent.dnc import MAX_UNCONFIRMED_REMOVAL
from honorbound.runtime import Runtime
from tests.conftest import Tenant

TODAY = dt.datetime.now(dt.UTC).date()
NUMBERS = [f"212555{n:04d}" for n in range(100)]


def _post(
    client: TestClient, tenant: Tenant, role: Role, lines: list[str], mode: str, **query: str
) -> int:
    params = {"registry_date": TODAY.isoformat(), "mode": mode, **query}
    return client.post(
        "/v1/dnc/national",
        params=params,
        content=("\n".join(lines) + "\n" if lines else "").encode(),
        headers={**tenant.headers(role), "Content-Type": "text/plain"},
    ).status_code


def _held(runtime: Runtime, tenant: Tenant) -> int:
    with runtime.db.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM consent_national_dnc WHERE organization_id = :o"),
                {"o": tenant.id},
            ).scalar_one()
        )


def test_only_an_admin_replaces_or_deletes(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    assert _post(client, tenant, Role.CLIENT, NUMBERS, "add") == 201
    for role in (Role.CLIENT, Role.AGENT, Role.PRIVACY_OFFICER):
        assert _post(client, tenant, role, [], "full") == 403
        assert _post(client, tenant, role, NUMBERS, "delete") == 403
    assert _held(runtime, tenant) == len(NUMBERS)


def test_a_large_removal_needs_confirmation(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    assert _post(client, tenant, Role.ADMIN, NUMBERS, "full") == 201
    # An empty "full" file would remove everything: refused until confirmed.
    response = client.post(
        "/v1/dnc/national",
        params={"registry_date": TODAY.isoformat(), "mode": "full"},
        content=b"",
        headers={**tenant.headers(Role.ADMIN), "Content-Type": "text/plain"},
    )
    assert response.status_code == 409
    assert response.json()["removed"] == len(NUMBERS)
    assert "confirm_removal" in response.json()["detail"]
    assert _held(runtime, tenant) == len(NUMBERS)
    half = NUMBERS[: len(NUMBERS) // 2]
    assert _post(client, tenant, Role.ADMIN, half, "delete") == 409
    assert _held(runtime, tenant) == len(NUMBERS)
    assert _post(client, tenant, Role.ADMIN, half, "delete", confirm_removal="true") == 201
    assert _held(runtime, tenant) == len(NUMBERS) - len(half)


def test_a_small_removal_goes_through(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    assert _post(client, tenant, Role.ADMIN, NUMBERS, "full") == 201
    keep = int(len(NUMBERS) * (1 - MAX_UNCONFIRMED_REMOVAL))
    assert _post(client, tenant, Role.ADMIN, NUMBERS[:keep], "full") == 201
    assert _held(runtime, tenant) == keep
