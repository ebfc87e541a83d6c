"""Data Rights Protocol 1.0 conformance: an authorized agent, with its own key, speaks to the
live server over real HTTP (uvicorn on loopback) through every endpoint of DRP s.2, and the
status callback arrives at a loopback server of its own.

The checks read the spec, not Honorbound's code: the agent signs with `cryptography`
directly (libsodium combined mode, s.3.07.1), the status objects are checked against s.3.03,
and the directory entry against the JSON schema printed in s.3.05.2.
"""

from __future__ import annotations

import json
import re
import uuid

import httpx
import jsonschema
import pytest
from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from tests.conftest import Tenant, make_tenant
from tests.protocols.conftest import Agent, CallbackReceiver, counts

fake = Faker()
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# DRP s.3.05.2, the business directory entry's schema as printed in the spec.
BUSINESS_SCHEMA = {
    "$id": "https://sd.datarightsprotocol.org/business.schema.json",
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "[A-Z_]+"},
        "name": {"type": "string"},
        "logo": {"type": ["null", "string"]},
        "api_base": {"type": "string", "pattern": "https://[a-z/.-]+"},
        "supported_actions": {
            "type": "array",
            "items": {
                "type": "string",
                "enum": ["access", "deletion", "sale:opt-out", "sale:opt-in",
                         "access:categories", "access:specific"],
            },
        },
        "supported_verifications": {
            "type": "array",
            "items": {"type": "string", "enum": ["email", "phone_number", "address"]},
        },
        "privacy_policy_url": {"type": "string", "pattern": "https://[a-z/.-]+"},
        "web_url": {"type": "string", "pattern": "https://[a-z/.-]+"},
        "technical_contact": {"type": "string"},
        "business_contact": {"type": "string"},
    },
}  # fmt: skip
STATUSES = {"open", "in_progress", "fulfilled", "revoked", "denied", "expired"}  # s.3.02


@pytest.fixture
def business(rt: Runtime) -> Tenant:
    return make_tenant(rt, "acme-shoes")


def _register(api: TestClient, tenant: Tenant, agent: Agent) -> None:
    answer = api.post(
        "/v1/protocols/drp/agents",
        json={"agent_id": agent.agent_id, "name": "Consumer Agent", "verify_key": agent.verify_key},
        headers=tenant.headers(),
    )
    assert answer.status_code == 201, answer.text


def _pair(http: httpx.Client, agent: Agent, business: str = "ACME_SHOES") -> str:
    answer = http.post(
        f"/v1/agent/{agent.agent_id}",
        content=agent.sign(agent.envelope(business)),
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["agent-id"] == agent.agent_id and len(body["token"]) >= 32
    return str(body["token"])


def _exercise(agent: Agent, action: str, email: str, **extra: object) -> bytes:
    claims = agent.envelope(
        "ACME_SHOES",
        **{"agent-request-id": f"ar-{uuid.uuid4().hex[:8]}", "exercise": action,
           "regime": "ccpa", "relationships": ["customer"], "name": fake.name(),
           "email": email, "email_verified": True, **extra},
    )  # fmt: skip
    return agent.sign(claims)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}


def test_an_agent_speaks_drp_to_the_live_server(
    api: TestClient, rt: Runtime, live: str, business: Tenant, receiver: CallbackReceiver
) -> None:
    agent = Agent("CONSUMER_AGENT_ONE")
    _register(api, business, agent)
    with httpx.Client(base_url=live, timeout=30) as http:
        token = _pair(http, agent)
        # s.2.06 agent information
        assert http.get(f"/v1/agent/{agent.agent_id}", headers=_bearer(token)).json() == {}
        assert http.get("/v1/agent/OTHER_AGENT", headers=_bearer(token)).status_code == 403

        # s.2.01 a deletion, with a status callback
        email = fake.email()
        signed = _exercise(agent, "deletion", email, status_callback=f"{receiver.url}/drp/cb")
        answer = http.post("/v1/data-rights-request", content=signed, headers=_bearer(token))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        status = answer.json()
        assert UUID.match(status["request_id"]) and status["status"] in STATUSES
        assert status["status"] == "in_progress" and status["expected_by"]  # s.3.03 MUST
        assert status["agent_request_id"].startswith("ar-")
        with rt.db.session() as session:
            rights = list(session.scalars(select(RightsRequest)))
        assert [(r.manner, r.type, r.organization_id) for r in rights] == [
            ("authorized_agent", "delete", business.id)
        ]
        # s.2.03: the agent's callback got the status object
        got = receiver.wait_for(1)
        assert got and got[0].path == "/drp/cb"
        assert json.loads(got[0].body)["request_id"] == status["request_id"]

        # s.2.02 status
        again = http.get(f"/v1/data-rights-request/{status['request_id']}", headers=_bearer(token))
        assert again.status_code == 200 and again.json()["status"] == "in_progress"

        # s.2.01 a sale opt-out is applied at once (11 CCR 7026: no verification)
        opt = http.post("/v1/data-rights-request", content=_exercise(agent, "sale:opt-out",
                        fake.email()), headers=_bearer(token))  # fmt: skip
        assert opt.status_code == 200 and opt.json()["status"] == "fulfilled"

        # s.2.04 revoke, signed {"reason"}
        reason = agent.sign({"reason": "I changed my mind"})
        revoked = http.request("DELETE", f"/v1/data-rights-request/{status['request_id']}",
                               content=reason, headers=_bearer(token))  # fmt: skip
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        assert (
            receiver.wait_for(2)[-1].body
            and json.loads(receiver.received[-1].body)["status"] == "revoked"
        )
        with rt.db.session() as session:
            closed = session.get(RightsRequest, rights[0].id)
            assert closed is not None and closed.closed_at is not None

        # the old well-known discovery file is gone since DRP 0.9 (s.3.05)
        assert http.get("/.well-known/data-rights.json").status_code == 404


def test_the_directory_entry_matches_the_spec_schema(api: TestClient, business: Tenant) -> None:
    entry = api.get("/v1/protocols/drp/directory-entry", headers=business.headers()).json()
    jsonschema.validate(entry, BUSINESS_SCHEMA)
    assert entry["id"] == "ACME_SHOES"
    assert set(entry["supported_actions"]) == {
        "access", "deletion", "sale:opt-out", "access:categories", "access:specific"
    }  # fmt: skip


def test_bad_drp_input_is_refused_and_changes_nothing(
    api: TestClient, rt: Runtime, live: str, business: Tenant
) -> None:
    agent, stranger = Agent("CONSUMER_AGENT_ONE"), Agent("CONSUMER_AGENT_ONE")
    _register(api, business, agent)
    other_business = make_tenant(rt, "other-shop")
    with httpx.Client(base_url=live, timeout=30) as http:
        token = _pair(http, agent)
        email = fake.email()
        good = _exercise(agent, "deletion", email)
        assert http.post("/v1/data-rights-request", content=good,
                         headers=_bearer(token)).status_code == 200  # fmt: skip
        before = counts(rt)

        def post(body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
            return http.post("/v1/data-rights-request", content=body,
                             headers=headers or _bearer(token))  # fmt: skip

        cases: list[tuple[str, httpx.Response, int, str]] = [
            ("replayed", post(good), 409, "already received"),
            ("no token", post(good, {"Content-Type": "text/plain"}), 401, "Bearer"),
            ("unknown token", post(good, _bearer("x" * 43)), 401, "unknown"),
            ("unsigned", post(json.dumps({"exercise": "deletion"}).encode()), 403, "base64"),
            ("wrong key", post(_exercise(stranger, "deletion", email)), 403, "signature"),
            (
                "other business",
                post(
                    agent.sign(
                        agent.envelope(
                            "OTHER_SHOP", exercise="deletion", regime="ccpa", email=email
                        )
                    )
                ),
                403,
                "business-id",
            ),  # fmt: skip
            (
                "expired",
                post(
                    agent.sign(
                        agent.envelope(
                            "ACME_SHOES",
                            minutes=-1,
                            exercise="deletion",
                            regime="ccpa",
                            email=email,
                        )
                    )
                ),
                400,
                "expired",
            ),  # fmt: skip
            (
                "window too long",
                post(
                    agent.sign(
                        agent.envelope(
                            "ACME_SHOES",
                            minutes=60,
                            exercise="deletion",
                            regime="ccpa",
                            email=email,
                        )
                    )
                ),
                400,
                "10 minutes",
            ),  # fmt: skip
            (
                "over-long name",
                post(_exercise(agent, "deletion", email, name="n" * 501)),
                400,
                "longer than 500",
            ),  # fmt: skip
            (
                "unknown exercise",
                post(_exercise(agent, "sale:opt-in", email)),
                400,
                "not supported",
            ),  # fmt: skip
            (
                "no email",
                post(agent.sign(agent.envelope("ACME_SHOES", exercise="deletion", regime="ccpa"))),
                400,
                "email",
            ),  # fmt: skip
            (
                "private callback",
                post(
                    _exercise(
                        agent, "deletion", fake.email(), status_callback="https://10.1.2.3/cb"
                    )
                ),
                400,
                "private",
            ),  # fmt: skip
            ("not base64 at all", post(b"{not base64!}"), 403, "base64"),
        ]
        for name, response, status, words in cases:
            assert response.status_code == status, (name, response.status_code, response.text)
            body = response.json()
            assert body["code"] == str(status) and words in body["message"], (name, body)
        # pair-wise setup failures: 403 with no body (s.2.05.1)
        for name, body in [
            ("unknown agent", Agent("NOBODY").sign(Agent("NOBODY").envelope("ACME_SHOES"))),
            ("wrong key", stranger.sign(stranger.envelope("ACME_SHOES"))),
            ("business that does not accept it", agent.sign(agent.envelope("OTHER_SHOP"))),
            ("unsigned", b"eyJhIjoxfQ=="),
        ]:
            who = "NOBODY" if name == "unknown agent" else agent.agent_id
            answer = http.post(f"/v1/agent/{who}", content=body)
            assert answer.status_code == 403 and answer.content == b"", name
        # bytes that are not even UTF-8 are refused by the server's body guard
        binary = post(b"\xff\xfe\x00")
        assert binary.status_code == 400 and "UTF-8" in binary.json()["detail"]
        assert counts(rt) == before
        assert other_business.id != business.id


def test_an_agent_sees_only_its_own_requests(api: TestClient, live: str, business: Tenant) -> None:
    one, two = Agent("AGENT_ONE"), Agent("AGENT_TWO")
    _register(api, business, one)
    _register(api, business, two)
    with httpx.Client(base_url=live, timeout=30) as http:
        token_one, token_two = _pair(http, one), _pair(http, two)
        made = http.post("/v1/data-rights-request", content=_exercise(one, "access", fake.email()),
                         headers=_bearer(token_one)).json()  # fmt: skip
        path = f"/v1/data-rights-request/{made['request_id']}"
        assert http.get(path, headers=_bearer(token_two)).status_code == 403  # s.2.02.1
        assert http.get(path, headers=_bearer(token_one)).status_code == 200
        # a new pair-wise setup replaces the pair's token
        newer = _pair(http, one)
        assert http.get(path, headers=_bearer(token_one)).status_code == 401
        assert http.get(path, headers=_bearer(newer)).status_code == 200
