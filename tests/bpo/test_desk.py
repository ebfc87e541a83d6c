"""The cross-client desk (/v1/desk) against an oracle: every open request of the BPO and its
clients, read with plain SQL and sorted here, must come back page after page in that order,
once each; the counts per client are the ones SQL counts. Bad cursors and filters are 4xx."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text, update

from honorbound.accounts.roles import Role
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.conftest import Tenant


def _key(client: TestClient, tenant: Tenant, client_id: int) -> dict[str, str]:
    made = client.post(
        f"/v1/clients/{client_id}/api-keys", json={"name": "k", "role": "admin"},
        headers=tenant.headers(),
    )  # fmt: skip
    return {"Authorization": f"Bearer {made.json()['key']}"}


def _request(client: TestClient, headers: dict[str, str], n: int, kind: str = "delete") -> int:
    made = client.post(
        "/v1/requests",
        json={"type": kind, "jurisdiction": "CA", "email": f"p{n}@example.test", "manner": "phone"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _when(value: object) -> dt.datetime:
    """A due date as the driver returned it (SQLite: text), as an aware UTC datetime."""
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def test_pages_follow_the_oracle_and_counts_match_sql(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    rng = random.Random(7)
    made: list[int] = []
    opt_outs: list[int] = []
    for slug in ("one", "two", "three"):
        headers = _key(client, tenant, onboard(client, tenant, slug)["id"])
        for n in range(9):
            kind = "opt_out_sale" if n % 4 == 0 else "delete"
            made.append(_request(client, headers, len(made), kind))
            if kind == "opt_out_sale":
                opt_outs.append(made[-1])
    made.append(_request(client, tenant.headers(), 99))  # the BPO's own
    _request(client, other_tenant.headers(), 100)  # another BPO's: never on this desk
    # Spread the due dates (some overdue, some equal, to test the tie on id); close three.
    # Opt-outs are honored at intake (closed at once): reopen them, as an opt-out still waiting
    # on a downstream system would be, so the desk has some to count.
    base = dt.datetime.now(dt.UTC)
    with runtime.db.session() as session:
        session.execute(
            update(RightsRequest)
            .where(RightsRequest.id.in_(opt_outs))
            .values(status="in_progress", closed_at=None)
        )
        for request_id in made:
            due = base + dt.timedelta(days=rng.choice([-20, -3, 2, 2, 2, 10, 40]))
            session.execute(
                update(RightsRequest).where(RightsRequest.id == request_id).values(due_at=due)
            )
        for request_id in made[:3]:
            session.execute(
                update(RightsRequest)
                .where(RightsRequest.id == request_id)
                .values(status="completed", closed_at=base)
            )
    with runtime.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.due_at, o.slug, r.type FROM rights_requests r "
                "JOIN organizations o ON o.id = r.organization_id "
                "WHERE r.closed_at IS NULL AND (o.id = :b OR o.operated_by_id = :b)"
            ),
            {"b": tenant.id},
        ).all()
    expected = [r[0] for r in sorted(rows, key=lambda r: (str(r[1]), r[0]))]
    assert len(expected) == len(made) - 3
    walked: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/desk/requests", params=params, headers=tenant.headers()).json()
        walked += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == expected
    # Overdue only, and one client only.
    overdue = client.get(
        "/v1/desk/requests", params={"overdue": "true", "limit": 200}, headers=tenant.headers()
    ).json()["items"]
    assert all(i["overdue"] for i in overdue)
    assert len(overdue) == sum(1 for r in rows if str(r[1]) < str(base))
    two = client.get(
        "/v1/desk/requests", params={"client": "two", "limit": 200}, headers=tenant.headers()
    ).json()["items"]
    assert {i["organization"] for i in two} == {"two"}
    assert len(two) == sum(1 for r in rows if r[2] == "two")
    # Counts per client, from SQL.
    summary = client.get("/v1/desk", headers=tenant.headers()).json()
    by_slug = {o["organization"]["slug"]: o for o in summary["organizations"]}
    assert set(by_slug) == {"org-a", "one", "two", "three"}
    for slug, found in by_slug.items():
        mine = [r for r in rows if r[2] == slug]
        assert found["open_requests"] == len(mine)
        assert found["opt_outs_open"] == sum(1 for r in mine if r[3] == "opt_out_sale")
        # Overdue and due within 7 days, from the due dates SQL returned (no date is near an
        # edge: they are whole days from `base`).
        due = [_when(r[1]) for r in mine]
        assert found["overdue"] == sum(1 for d in due if d < base)
        assert found["due_soon"] == sum(1 for d in due if base <= d < base + dt.timedelta(days=7))
    assert summary["totals"]["open_requests"] == len(rows)


def test_bad_cursor_limit_and_client_are_refused(client: TestClient, tenant: Tenant) -> None:
    for params, status in (
        ({"cursor": "not-a-cursor"}, 422),
        ({"cursor": "x" * 101}, 422),
        ({"cursor": "MjAyNi0wMS0wMXwx"}, 422),  # "2026-01-01|1": no time zone
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"client": "no-such-client"}, 404),
        ({"client": "x" * 65}, 422),
    ):
        answer = client.get("/v1/desk/requests", params=params, headers=tenant.headers())
        assert answer.status_code == status, (params, answer.text)
    assert client.get("/v1/desk", headers=tenant.headers(Role.CLIENT)).status_code == 403
