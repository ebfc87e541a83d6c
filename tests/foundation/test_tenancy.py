"""No API path can read or change another organization's rows.

The test walks every /v1 route the app has, so a route added later is covered automatically:
without a key -> 401; with organization B's key on organization A's object ids -> 404 (never
200 with A's data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.notify.models import Channel
from honorbound.notify.outbox import put
from honorbound.runtime import Runtime
from tests.conftest import Tenant, adopt_example

PUBLIC = {"/v1/public"}  # prefixes of routes meant for consumers without a key


@dataclass
class Route:
    path: str
    methods: set[str]


def _v1_routes(client: TestClient) -> list[Route]:
    """Every /v1 operation the OpenAPI document lists (that is, every API route)."""
    spec = client.get("/openapi.json").json()
    return [
        Route(path, {m.upper() for m in ops})
        for path, ops in spec["paths"].items()
        if path.startswith("/v1") and not any(path.startswith(p) for p in PUBLIC)
    ]


def _consent_event_of(runtime: Runtime, tenant: Tenant) -> int:
    """A consent ledger event of organization A."""
    from honorbound.audit import Actor
    from honorbound.consent import ledger
    from honorbound.consent.identity import identify

    with runtime.db.session() as session:
        ref = identify(runtime.keys, tenant.id, "person@example.test")
        event, _ = ledger.record(
            session, tenant.id, ref, "marketing", "email", "opt_out", "web_form", Actor.system()
        )
        return event.id


def _subject_of(runtime: Runtime, tenant: Tenant) -> int:
    """A vault subject of organization A (rules without a notice: no checks apply)."""
    from honorbound.audit import Actor
    from honorbound.vault.identities import IdentityKind
    from honorbound.vault.rules import CollectionRules
    from honorbound.vault.subjects import IdentityInput, upsert_subject

    with runtime.db.session() as session:
        up = upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, "person@example.test")],
            Actor("test", "system"),
            CollectionRules(None, {}, frozenset(), None),
        )
        return up.subject.id


def _task_of(runtime: Runtime, tenant: Tenant, request_id: int) -> int:
    """A manual-system task of organization A (honorbound.systems)."""
    from honorbound.db.base import utcnow
    from honorbound.systems.models import ManualTask, SystemExecution

    with runtime.db.session() as session:
        execution = SystemExecution(
            organization_id=tenant.id,
            request_id=request_id,
            system_key="paper",
            action="erasure",
            status="waiting",
            details={},
            idempotency_key="k",
        )
        session.add(execution)
        session.flush()
        task = ManualTask(
            organization_id=tenant.id,
            request_id=request_id,
            execution_id=execution.id,
            system_key="paper",
            action="erasure",
            owner="desk",
            due_at=utcnow(),
            instructions_sealed=b"x",
        )
        session.add(task)
        session.flush()
        return task.id


def _incident_of(client: TestClient, runtime: Runtime, tenant: Tenant) -> tuple[int, int]:
    """A breach incident of organization A and a notice of it (honorbound.breach)."""
    from honorbound.breach.models import Notice

    incident = client.post(
        "/v1/breach/incidents",
        json={"title": "t", "owner": "o", "discovered_at": "2026-11-02T15:00:00Z"},
        headers=tenant.headers(),
    ).json()["id"]
    with runtime.db.session() as session:
        notice = Notice(
            organization_id=tenant.id, incident_id=incident, audience="regulator",
            state="NY", recipient="Attorney General", channel="document", status="prepared",
        )  # fmt: skip
        session.add(notice)
        session.flush()
        return incident, notice.id


def _intent_of(runtime: Runtime, tenant: Tenant, subject_id: int) -> int:
    """A said opt-out of organization A waiting for review (honorbound.intents)."""
    import datetime as dt

    from honorbound.intents.models import ConversationIntent

    with runtime.db.session() as session:
        intent = ConversationIntent(
            organization_id=tenant.id, subject_id=subject_id, interaction_id=1,
            fingerprint="f" * 64, kind="opt_out", status="review", channel="phone",
            speaker="customer", span_start=0, span_end=4,
            occurred_at=dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC),
        )  # fmt: skip
        session.add(intent)
        session.flush()
        return intent.id


def test_every_route_needs_a_key(client: TestClient) -> None:
    routes = _v1_routes(client)
    assert routes
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, route.path, response.status_code)


def test_ids_of_another_organization_are_not_found(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Objects owned by A.
    key = client.post(
        "/v1/api-keys", json={"name": "a-key", "role": "agent"}, headers=tenant.headers()
    ).json()
    with runtime.db.session() as session:
        message = put(
            session,
            runtime.keys,
            None,
            tenant.id,
            Channel.EMAIL,
            "test",
            "person@example.test",
            "body",
            "subject",
        )
    ids = {"key_id": key["id"], "message_id": message.id}
    ids["subject_id"] = _subject_of(runtime, tenant)
    ids["version_id"] = adopt_example(runtime, tenant.id).version_id
    ids["event_id"] = _consent_event_of(runtime, tenant)
    held = client.post(
        "/v1/retention/holds", json={"reason": "t", "owner": "legal"}, headers=tenant.headers()
    )
    ids["hold_id"] = held.json()["id"]
    ids["request_id"] = client.post(
        "/v1/requests",
        json={
            "type": "delete",
            "jurisdiction": "CA",
            "email": "person@example.test",
            "manner": "phone",
        },
        headers=tenant.headers(),
    ).json()["id"]
    ids["task_id"] = _task_of(runtime, tenant, ids["request_id"])
    ids["incident_id"], ids["notice_id"] = _incident_of(client, runtime, tenant)
    ids["intent_id"] = _intent_of(runtime, tenant, ids["subject_id"])
    # A client organization A operates as a BPO (honorbound.accounts.clients).
    ids["client_id"] = client.post(
        "/v1/clients",
        json={"slug": "a-client", "name": "A's client", "privacy_contact": "p@a.example"},
        headers=tenant.headers(),
    ).json()["id"]
    checked = 0
    for route in _v1_routes(client):
        params = re.findall(r"\{([^}]+)\}", route.path)
        if not params:
            continue
        path = route.path
        for name in params:
            assert name in ids, f"add an object of org A for {{{name}}} in {route.path}"
            path = path.replace(f"{{{name}}}", str(ids[name]))
        for method in route.methods - {"HEAD", "OPTIONS"}:
            response = client.request(
                method, path, json={}, headers=other_tenant.headers(Role.ADMIN)
            )
            assert response.status_code == 404, (method, route.path, response.status_code)
            checked += 1
    assert checked >= 3
    # A's objects are intact and still A's.
    still = client.get(f"/v1/api-keys/{key['id']}", headers=tenant.headers())
    assert still.status_code == 200 and still.json()["revoked_at"] is None


def test_lists_only_show_own_rows(client: TestClient, tenant: Tenant, other_tenant: Tenant) -> None:
    a = {k["prefix"] for k in client.get("/v1/api-keys", headers=tenant.headers()).json()}
    b = {k["prefix"] for k in client.get("/v1/api-keys", headers=other_tenant.headers()).json()}
    assert a and b and not (a & b)


# -- the console's BPO pages (honorbound.web.console.clients) ----------------------------------
def _console_admin(client: TestClient, runtime: Runtime, tenant: Tenant, name: str) -> str:
    """Sign `client` in as an administrator of `tenant`; returns the form token."""
    from tests.web.conftest import add_staff

    login = add_staff(runtime, tenant, name, Role.ADMIN)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    signed = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/clients").text)
    assert found
    return found[1]


def test_console_bpo_pages_keep_to_the_bpo(
    app: object, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Organization B's administrator, signed in to the console, on every page under
    /console/clients/{client_id} with A's client: 404, nothing changed; A's client is not in
    B's lists or desk; switching to A's organization is refused."""
    from starlette.routing import Route as StarletteRoute

    from honorbound.web.console import clients as console_clients

    owner = TestClient(app)  # type: ignore[arg-type]
    _console_admin(owner, runtime, tenant, "a.admin")
    made = owner.post(
        "/v1/clients",
        json={"slug": "a-client", "name": "A's client", "privacy_contact": "p@a.example"},
        headers=tenant.headers(),
    ).json()
    reference = owner.post(
        "/v1/requests",
        json={"type": "delete", "jurisdiction": "CA", "email": "person@example.test",
              "manner": "phone"},
        headers=tenant.headers(),
    ).json()["reference"]  # fmt: skip
    intruder = TestClient(app)  # type: ignore[arg-type]
    token = _console_admin(intruder, runtime, other_tenant, "b.admin")
    routes = [
        r
        for r in console_clients.router.routes
        if isinstance(r, StarletteRoute) and r.path.startswith("/console/clients/{client_id}")
    ]
    assert len(routes) >= 9
    with runtime.db.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar_one()
    for route in routes:
        path = route.path.replace("{client_id}", str(made["id"]))
        for method in (route.methods or set()) - {"HEAD"}:
            data = {"csrf_token": token, "name": "k", "role": "agent", "email": "x@b.example",
                    "username": "b.admin", "confirm": "a-client"}  # fmt: skip
            answer = intruder.request(method, path, data=data if method == "POST" else None)
            assert answer.status_code == 404, (method, route.path, answer.status_code)
            assert "text/html" in answer.headers["content-type"]
    with runtime.db.engine.connect() as conn:
        after = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar_one()
    # B's console reads leave B's own audit entries at most; nothing of A's changed.
    with runtime.db.engine.connect() as conn:
        a_client = conn.exec_driver_sql(
            "SELECT disabled_at, offboarded_at FROM organizations WHERE id = ?", (made["id"],)
        ).one()
    assert tuple(a_client) == (None, None) and after == before
    assert "a-client" not in intruder.get("/console/clients").text
    desk = intruder.get("/console/all-clients")
    assert desk.status_code == 200 and reference not in desk.text and "Org org-a" not in desk.text
    assert intruder.get("/console/all-clients?client=a-client").status_code == 404
    assert intruder.get("/console/all-clients?client=org-a").status_code == 404
    switched = intruder.post(
        "/console/organization", data={"organization_id": str(tenant.id), "csrf_token": token}
    )
    assert switched.status_code == 403 and "Not one of your organizations" in switched.text
    assert 'class="console-nav"' in switched.text  # the console's frame
    assert "Org org-b" in intruder.get("/console").text  # still in B
    # The API desk of B's key: none of A's organizations or requests.
    desk_api = intruder.get("/v1/desk/requests", headers=other_tenant.headers())
    assert desk_api.status_code == 200 and reference not in desk_api.text
    assert (
        intruder.get("/v1/desk?client=a-client", headers=other_tenant.headers()).status_code == 404
    )
    own = owner.get("/v1/desk/requests", headers=tenant.headers()).json()["items"]
    assert [i["reference"] for i in own] == [reference]
