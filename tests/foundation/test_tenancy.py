"""No API path can read or change another organization's rows.

The test walks every /v1 route the app has, so a route added later is covered automatically:
without a key -> 401; with organization B's key on organization A's object ids -> 404 (never
200 with A's data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.notify.models import Channel
from honorbound.notify.outbox import put
from honorbound.runtime import Runtime
from tests.conftest import Tenant, adopt_example

# Prefixes of routes meant for callers without a key: consumers, and the OpenDSR discovery
# document and certificate a controller fetches before it has anything to sign (s.6, 8.8).
PUBLIC = {"/v1/public", "/v1/discovery"}
# Data Rights Protocol routes: authenticated by the agent's signature and the pair's bearer
# token, never an API key; walked by their own tests below.
DRP = ("/v1/agent/", "/v1/data-rights-request")


@dataclass
class Route:
    path: str
    methods: set[str]


def _all_routes(client: TestClient) -> list[Route]:
    spec = client.get("/openapi.json").json()
    return [Route(path, {m.upper() for m in ops}) for path, ops in spec["paths"].items()]


def _v1_routes(client: TestClient) -> list[Route]:
    """Every /v1 operation the OpenAPI document lists (that is, every API route)."""
    spec = client.get("/openapi.json").json()
    return [
        Route(path, {m.upper() for m in ops})
        for path, ops in spec["paths"].items()
        if path.startswith("/v1")
        and not any(path.startswith(p) for p in PUBLIC)
        and not path.startswith(DRP)
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


def _agent_of(client: TestClient, tenant: Tenant, agent_id: str = "AGENT_A") -> int:
    """A DRP agent registered by organization A."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    answer = client.post(
        "/v1/protocols/drp/agents",
        json={
            "agent_id": agent_id,
            "name": "An agent",
            "verify_key": base64.b64encode(raw).decode(),
        },
        headers=tenant.headers(),
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _opendsr_request_of(client: TestClient, tenant: Tenant) -> str:
    """An OpenDSR request pushed by organization A's controller system."""
    import uuid

    assert client.put("/v1/protocols/controller", json={}, headers=tenant.headers()).is_success
    subject_request_id = str(uuid.uuid4())
    answer = client.post(
        "/v1/opengdpr_requests",
        json={
            "regulation": "ccpa", "subject_request_id": subject_request_id,
            "subject_request_type": "erasure", "submitted_time": "2026-12-01T10:00:00Z",
            "subject_identities": [{"identity_type": "email", "identity_format": "raw",
                                    "identity_value": "person@example.test"}],
        },
        headers=tenant.headers(Role.CLIENT),
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return subject_request_id


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
    ids["agent_row_id"] = _agent_of(client, tenant)
    ids["subject_request_id"] = _opendsr_request_of(client, tenant)
    # A client organization A operates as a BPO (honorbound.bpo.clients).
    ids["client_id"] = client.post(
        "/v1/clients",
        json={"slug": "a-client", "name": "A's client", "privacy_contact": "p@a.example"},
        headers=tenant.headers(),
    ).json()["id"]
    ids["subprocessor_id"] = client.post(
        f"/v1/clients/{ids['client_id']}/subprocessors",
        json={"name": "Vendor Inc.", "purpose": "Hosting", "location": "United States"},
        headers=tenant.headers(),
    ).json()["id"]
    ids["dnc_id"] = client.post(
        "/v1/dnc/company", json={"identity": "+12125550177"}, headers=tenant.headers()
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
    register = client.get(
        f"/v1/clients/{ids['client_id']}/subprocessors", headers=tenant.headers()
    ).json()["items"]
    assert [r["id"] for r in register] == [ids["subprocessor_id"]]
    # A's do-not-call request: still on A's list, and not on B's.
    listed = client.get("/v1/dnc/company", headers=tenant.headers()).json()["items"]
    assert [r["id"] for r in listed] == [ids["dnc_id"]]
    assert client.get("/v1/dnc/company", headers=other_tenant.headers()).json()["items"] == []


def test_lists_only_show_own_rows(client: TestClient, tenant: Tenant, other_tenant: Tenant) -> None:
    a = {k["prefix"] for k in client.get("/v1/api-keys", headers=tenant.headers()).json()}
    b = {k["prefix"] for k in client.get("/v1/api-keys", headers=other_tenant.headers()).json()}
    assert a and b and not (a & b)


def test_drp_routes_need_the_pairs_token(client: TestClient, tenant: Tenant) -> None:
    """Every DRP route refuses a caller without the pair's token, and an API key is not one:
    401 (403 with no body for the signed pair-wise setup, DRP s.2.05.1)."""
    routes = [r for r in _all_routes(client) if r.path.startswith(DRP)]
    assert len(routes) >= 3
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            for headers in ({}, tenant.headers(Role.ADMIN)):
                response = client.request(method, path, content=b"e30=", headers=headers)
                expected = 403 if (method, route.path) == ("POST", "/v1/agent/{agent_id}") else 401
                assert response.status_code == expected, (method, route.path, headers.keys())


def test_a_drp_token_reaches_only_its_own_business(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The same agent (one key) paired with A and with B: B's token cannot read A's request."""
    import base64
    import datetime as dt
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.generate()
    verify = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(claims: dict[str, object]) -> bytes:
        message = json.dumps(claims).encode()
        return base64.b64encode(key.sign(message) + message)

    def envelope(business: str, **extra: object) -> dict[str, object]:
        now = dt.datetime.now(dt.UTC)
        return {"agent-id": "SHARED_AGENT", "business-id": business,
                "issued-at": now.isoformat(), "drp.version": "1.0",
                "expires-at": (now + dt.timedelta(minutes=5)).isoformat(), **extra}  # fmt: skip

    tokens = {}
    for org, business in ((tenant, "ORG_A"), (other_tenant, "ORG_B")):
        added = client.post(
            "/v1/protocols/drp/agents",
            json={"agent_id": "SHARED_AGENT", "name": "Agent", "verify_key": verify.decode()},
            headers=org.headers(),
        )
        assert added.status_code == 201
        paired = client.post("/v1/agent/SHARED_AGENT", content=sign(envelope(business)))
        assert paired.status_code == 200, paired.text
        tokens[business] = {"Authorization": f"Bearer {paired.json()['token']}"}
    made = client.post(
        "/v1/data-rights-request",
        content=sign(envelope("ORG_A", exercise="access", regime="ccpa",
                              email="person@example.test")),
        headers=tokens["ORG_A"],
    )  # fmt: skip
    assert made.status_code == 200, made.text
    path = f"/v1/data-rights-request/{made.json()['request_id']}"
    assert client.get(path, headers=tokens["ORG_B"]).status_code == 403
    revoke = client.request("DELETE", path, content=sign({"reason": "x"}), headers=tokens["ORG_B"])
    assert revoke.status_code == 403
    assert client.get(path, headers=tokens["ORG_A"]).json()["status"] == "in_progress"
    # A's token used on B's business: the business-id claim must be the token's business.
    crossed = client.post(
        "/v1/data-rights-request",
        content=sign(envelope("ORG_B", exercise="access", regime="ccpa",
                              email="person@example.test")),
        headers=tokens["ORG_A"],
    )  # fmt: skip
    assert crossed.status_code == 403
    # B's admin cannot see or disable A's agents.
    a_ids = {
        a["id"] for a in client.get("/v1/protocols/drp/agents", headers=tenant.headers()).json()
    }
    b_ids = {
        a["id"]
        for a in client.get("/v1/protocols/drp/agents", headers=other_tenant.headers()).json()
    }
    assert len(a_ids) == len(b_ids) == 1 and not a_ids & b_ids


# -- the console's BPO pages (honorbound.web.console.clients) ----------------------------------
def _console_admin(client: TestClient, runtime: Runtime, tenant: Tenant, name: str) -> str:
    """Sign `client` in as an administrator of `tenant`; returns the form token."""
    from tests.web.conftest import add_staff

    return console_sign_in(client, add_staff(runtime, tenant, name, Role.ADMIN))


def console_sign_in(client: TestClient, login: Any, page: str = "/console/clients") -> str:
    """Sign `client` in with `login` (username, password); the form token of `page`."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    signed = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found
    return found[1]


def test_console_bpo_pages_keep_to_the_bpo(
    app: object, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Organization B's administrator, signed in to the console, on every page under
    /console/clients/{client_id} with A's client: 404, nothing changed; A's client is not in
    B's lists or desk; switching to A's organization is refused."""
    from starlette.routing import Route as StarletteRoute

    from honorbound.web.console import client_settings
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
    sub_id = owner.post(
        f"/v1/clients/{made['id']}/subprocessors",
        json={"name": "Vendor Inc.", "purpose": "Hosting", "location": "United States"},
        headers=tenant.headers(),
    ).json()["id"]
    number = {"number": "+12125550190", "clients": ["a-client"], "routing": "all"}
    assert owner.post("/v1/sms-numbers", json=number, headers=tenant.headers()).status_code == 201
    intruder = TestClient(app)  # type: ignore[arg-type]
    token = _console_admin(intruder, runtime, other_tenant, "b.admin")
    routes = [
        r
        for r in [*console_clients.router.routes, *client_settings.router.routes]
        if isinstance(r, StarletteRoute) and r.path.startswith("/console/clients/{client_id}")
    ]
    assert len(routes) >= 13
    with runtime.db.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar_one()
    for route in routes:
        path = route.path.replace("{client_id}", str(made["id"]))
        for method in (route.methods or set()) - {"HEAD"}:
            data = {"csrf_token": token, "name": "k", "role": "agent", "email": "x@b.example",
                    "username": "b.admin", "confirm": "a-client", "start": "10:00",
                    "end": "18:00", "purpose": "p", "location": "US",
                    "subprocessor_id": str(sub_id)}  # fmt: skip
            answer = intruder.request(method, path, data=data if method == "POST" else None)
            assert answer.status_code == 404, (method, route.path, answer.status_code)
            assert "text/html" in answer.headers["content-type"]
    with runtime.db.engine.connect() as conn:
        after = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar_one()
    # B's console reads leave B's own audit entries at most; nothing of A's changed.
    with runtime.db.engine.connect() as conn:
        a_client = conn.execute(
            text("SELECT disabled_at, offboarded_at FROM organizations WHERE id = :id"),
            {"id": made["id"]},
        ).one()
    assert tuple(a_client) == (None, None) and after == before
    # A's shared number: not on B's page; B can neither name A's client nor take A's number.
    for bad in ({"client": "a-client", "number": "+12125550191"},
                {"number": "+12125550190"}):  # fmt: skip
        taken = intruder.post("/console/sms-numbers", data={"csrf_token": token, **bad})
        assert taken.status_code == 422 and 'id="number-error"' in taken.text
    with runtime.db.engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT n.number, n.routing, c.organization_id FROM bpo_shared_numbers n "
            "JOIN bpo_shared_number_clients c ON c.shared_number_id = n.id"
        ).all()
        after_numbers = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar_one()
    assert [tuple(r) for r in kept] == [("+12125550190", "all", made["id"])]
    assert after_numbers == before
    own_page = intruder.get("/console/clients").text
    assert "a-client" not in own_page and "+12125550190" not in own_page
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
    # Do-not-call across clients: A's request is neither listed, hinted nor removable for B.
    said = owner.post(
        "/v1/dnc/company", json={"identity": "+12125550178"}, headers=tenant.headers()
    )
    dnc_id = said.json()["id"]
    page = intruder.get("/console/all-clients/dnc")
    assert page.status_code == 200 and f'data-dnc="{dnc_id}"' not in page.text
    assert "Org org-a" not in page.text
    hint = intruder.post("/console/all-clients/dnc/check",
                         data={"csrf_token": token, "identity": "+12125550178"})  # fmt: skip
    assert "Org org-a" not in hint.text
    for data in ({"organization": "org-a", "identity": "+12125550179"},
                 {"organization": "a-client", "identity": "+12125550179"}):  # fmt: skip
        taken = intruder.post("/console/all-clients/dnc", data={"csrf_token": token, **data})
        assert taken.status_code == 422 and "choose one of your organizations" in taken.text
    removed = intruder.post(f"/console/all-clients/dnc/{dnc_id}/remove",
                            data={"csrf_token": token, "reason": "duplicate"})  # fmt: skip
    assert removed.status_code == 404 and "text/html" in removed.headers["content-type"]
    with runtime.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, organization_id FROM consent_company_dnc").all()
    assert [tuple(r) for r in rows] == [(dnc_id, tenant.id)]
    # The data map of B's key and console: B alone.
    theirs = intruder.get("/v1/clients/data-map", headers=other_tenant.headers()).json()
    assert [o["slug"] for o in theirs["organizations"]] == ["org-b"]
    exported = intruder.get("/console/all-clients/data-map.csv").text
    assert "org-a" not in exported and "a-client" not in exported
