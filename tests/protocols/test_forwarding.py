"""A consumer's request that reaches the BPO about a client: routed to the controller, the
forwarding recorded, the controller told, the consumer told the BPO is a service provider
naming the business; a completion notice to the controller when it closes. Mail is read
from a real SMTP server on loopback."""

from __future__ import annotations

import pytest
from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_organization, issue_api_key
from honorbound.audit import Actor
from honorbound.rights.models import RightsRequest
from honorbound.rights.protocols.models import ProcessorForward
from honorbound.runtime import Runtime
from tests.conftest import Tenant, make_tenant
from tests.protocols.conftest import counts, mails_to, text_of
from tests.support.smtp import SmtpSink

fake = Faker()
CONTROLLER = "privacy@acme-shoes.example"


@pytest.fixture
def bpo(rt: Runtime) -> Tenant:
    return make_tenant(rt, "callco")


@pytest.fixture
def client_org(rt: Runtime, api: TestClient, bpo: Tenant) -> Tenant:
    actor = Actor("test", "system")
    with rt.db.session() as session:
        org = create_organization(session, "acme-shoes", "Acme Shoes", actor, operated_by_id=bpo.id)
        keys = {role: issue_api_key(session, org.id, role, "k", actor)[1] for role in Role}
    tenant = Tenant(org.id, "acme-shoes", keys)
    answer = api.put("/v1/protocols/controller", json={"notice_email": CONTROLLER},
                     headers=tenant.headers())  # fmt: skip
    assert answer.status_code == 200
    return tenant


def test_a_request_made_to_the_bpo_goes_to_the_controller(
    api: TestClient, rt: Runtime, smtp: SmtpSink, bpo: Tenant, client_org: Tenant
) -> None:
    email = fake.email()
    answer = api.post(
        "/v1/protocols/forwarded-requests",
        json={"client": "acme-shoes", "type": "delete", "jurisdiction": "CA", "email": email},
        headers=bpo.headers(Role.AGENT),
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["controller_notified"] and made["consumer_told"]
    with rt.db.session() as session:
        rights = session.scalars(select(RightsRequest)).one()
        forward = session.scalars(select(ProcessorForward)).one()
        assert rights.organization_id == client_org.id  # the controller's request, its clock
        assert (forward.bpo_organization_id, forward.rights_request_id) == (bpo.id, rights.id)
        reference = rights.reference
    told = [m for m in mails_to(smtp, email, 2) if "Your request about" in str(m["Subject"])]
    assert told, "the consumer was not told"
    text = text_of(told[0])
    assert "Org callco is a service provider for Acme Shoes" in text and reference in text
    assert CONTROLLER in text  # where to reach the business
    notice = mails_to(smtp, CONTROLLER)
    assert notice and reference in text_of(notice[0]) and email not in text_of(notice[0])

    # the client's privacy officer denies it; the controller gets the completion notice
    denied = api.post(
        f"/v1/requests/{rights.id}/deny",
        json={"basis": "unverifiable", "explanation": ""},
        headers=client_org.headers(Role.PRIVACY_OFFICER),
    )
    assert denied.status_code == 200, denied.text
    done = mails_to(smtp, CONTROLLER, 2)
    assert len(done) == 2 and "denied" in str(done[1]["Subject"]) and reference in text_of(done[1])
    with rt.db.session() as session:
        assert session.scalars(select(ProcessorForward)).one().completion_sent_at is not None


def test_only_the_operating_bpo_forwards(
    api: TestClient, rt: Runtime, bpo: Tenant, client_org: Tenant
) -> None:
    stranger = make_tenant(rt, "other-bpo")
    before = counts(rt)
    for headers, slug in ((stranger.headers(), "acme-shoes"), (bpo.headers(), "no-such-client"),
                          (bpo.headers(), bpo.slug)):  # fmt: skip
        answer = api.post(
            "/v1/protocols/forwarded-requests",
            json={"client": slug, "type": "delete", "jurisdiction": "CA", "email": fake.email()},
            headers=headers,
        )
        assert answer.status_code == 404, answer.text
    over_long = api.post(
        "/v1/protocols/forwarded-requests",
        json={"client": "acme-shoes", "type": "delete", "jurisdiction": "CA",
              "email": "a" * 330 + "@x.test"},
        headers=bpo.headers(),
    )  # fmt: skip
    assert over_long.status_code == 422
    assert counts(rt) == before
