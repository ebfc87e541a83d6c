"""Console, without a browser: staff verify a request by hand from its page, and look up one
person's Shine the Light answer by a posted email or phone."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor, AuditEntry
from honorbound.db.base import utcnow
from honorbound.disclosures.ledger import record_disclosure
from honorbound.disclosures.models import Basis
from honorbound.policy.schema import Recipient, RecipientType
from honorbound.rights.models import RequestEvent, RightsRequest
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person
from tests.web.conftest import add_staff, adopt

ACTOR = Actor("test", "system")


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _sign_in(client: TestClient, runtime: Runtime, tenant: Tenant, name: str, role: Role) -> str:
    login = add_staff(runtime, tenant, name, role)
    token = _token(client.get("/login").text)
    client.post(
        "/login", data={"username": login.username, "password": login.password, "csrf_token": token}
    )
    return _token(client.get("/console").text)


def _requests(runtime: Runtime) -> list[RightsRequest]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(RightsRequest).order_by(RightsRequest.id)))
        session.expunge_all()
    return rows


def test_staff_verify_a_request_by_hand_from_its_page(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    portal = _token(client.get(f"/p/{tenant.slug}/requests/new").text)
    asked = client.post(
        f"/p/{tenant.slug}/requests",
        data={
            "csrf_token": portal,
            "type": "delete",
            "confirmed": "yes",
            "jurisdiction": "CA",
            "email": person().email,
        },
    )
    assert asked.status_code == 200
    [row] = _requests(runtime)
    assert row.verified_at is None

    # An auditor reads the request but gets no verify form and may not post it.
    _sign_in(client, runtime, tenant, "auditor7", Role.AUDITOR)
    page = client.get(f"/console/requests/{row.id}")
    assert page.status_code == 200 and 'id="verify-form"' not in page.text
    base = f"/console/requests/{row.id}/verify"
    refused = client.post(
        base, data={"csrf_token": _token(page.text), "level": "2", "note": "phone call"}
    )
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": _token(page.text)})
    client.cookies.clear()

    token = _sign_in(client, runtime, tenant, "officer7", Role.PRIVACY_OFFICER)
    page = client.get(f"/console/requests/{row.id}")
    assert 'id="verify-form"' in page.text
    token = _token(page.text)
    note = "Called back the number on file; matched two details"
    no_csrf = client.post(base, data={"level": "2", "note": note})
    assert no_csrf.status_code == 403
    no_note = client.post(base, data={"csrf_token": token, "level": "2", "note": " "})
    assert no_note.status_code == 422 and "note:" in no_note.text
    bad_level = client.post(base, data={"csrf_token": token, "level": "two", "note": note})
    assert bad_level.status_code == 422 and "level:" in bad_level.text
    too_few = client.post(base, data={"csrf_token": token, "level": "1", "note": note})
    assert too_few.status_code == 422 and "at least 2" in too_few.text
    [unchanged] = _requests(runtime)
    assert unchanged.verified_at is None and unchanged.status == row.status

    done = client.post(
        base, data={"csrf_token": token, "level": "2", "note": note}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/console/requests/{row.id}"
    [after] = _requests(runtime)
    assert after.verified_at is not None and after.verification_points == 2
    assert after.status != "verifying"
    shown = client.get(f"/console/requests/{row.id}").text
    assert "verified manually" in shown and note in shown
    assert 'id="verify-form"' not in shown
    with runtime.db.session() as session:
        event = session.scalar(
            select(RequestEvent).where(
                RequestEvent.request_id == row.id, RequestEvent.kind == "verified_manually"
            )
        )
        assert event is not None
        assert event.details["method"] == "manual" and event.actor.startswith("user:")
    again = client.post(base, data={"csrf_token": token, "level": "2", "note": note})
    assert again.status_code == 409


def _subject_with_disclosures(runtime: Runtime, tenant: Tenant, email: str) -> int:
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    listco = Recipient(
        id="listco", name="ListCo Mailers", type=RecipientType.business_partner, categories="all"
    )
    crm = Recipient(
        id="crm", name="Our CRM provider", type=RecipientType.service_provider, categories="all"
    )
    last_year = dt.datetime(utcnow().year - 1, 6, 1, tzinfo=dt.UTC)
    with runtime.db.session() as session:
        subject = upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, email)],
            ACTOR,
            rules,
        ).subject
        for recipient, purpose, at in (
            (listco, "marketing", last_year),  # direct marketing, last year: listed
            (crm, "customer_service", last_year),  # not for marketing
            (listco, "marketing", utcnow()),  # this year
        ):
            record_disclosure(
                session,
                tenant.id,
                ACTOR,
                recipient=recipient,
                categories=["user.contact.email"],
                purpose=purpose,
                basis=Basis.SALE,
                subjects={subject.id: ["user.contact.email"]},
                disclosed_at=at,
            )
        return subject.id


def test_shine_the_light_page_looks_a_person_up_by_a_posted_identity(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)
    someone, nobody = person(), person()
    subject_id = _subject_with_disclosures(runtime, tenant, someone.email)
    _sign_in(client, runtime, tenant, "auditor8", Role.AUDITOR)
    assert "/console/reports/shine-the-light" in client.get("/console/reports").text
    page = client.get("/console/reports/shine-the-light")
    assert page.status_code == 200
    token = _token(page.text)
    url = "/console/reports/shine-the-light"
    last_year = utcnow().year - 1

    empty = client.post(url, data={"csrf_token": token, "identity": " "})
    assert empty.status_code == 422 and "Enter the person&#39;s email address" in empty.text
    bad = client.post(url, data={"csrf_token": token, "identity": "not a phone"})
    assert bad.status_code == 422 and "not an email address or a phone number" in bad.text
    future = client.post(
        url, data={"csrf_token": token, "identity": someone.email, "year": str(last_year + 1)}
    )
    assert future.status_code == 422 and f"past calendar year, 2000 to {last_year}" in future.text
    unknown = client.post(url, data={"csrf_token": token, "identity": nobody.email})
    assert unknown.status_code == 404 and "No one with this identity is on file" in unknown.text
    assert client.post(url, data={"identity": someone.email}).status_code == 403  # no CSRF

    found = client.post(url, data={"csrf_token": token, "identity": someone.email})
    assert found.status_code == 200, found.text
    assert f"calendar year {last_year}" in found.text
    table = found.text.split('id="stl-recipients"')[1].split("</table>")[0]
    assert "ListCo Mailers" in table and "user.contact.email" in table
    assert "Our CRM provider" not in table
    assert someone.email not in found.text  # the identity is not echoed back
    assert f"/console/subjects/{subject_id}" in found.text

    earlier = client.post(
        url, data={"csrf_token": token, "identity": someone.email, "year": str(last_year - 1)}
    )
    assert earlier.status_code == 200
    assert "did not disclose" in earlier.text and 'id="stl-recipients"' not in earlier.text

    with runtime.db.session() as session:
        viewed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "disclosures.shine_the_light_viewed")
        ).all()
    assert [(v.object_id, v.details["year"]) for v in viewed] == [
        (str(subject_id), last_year),
        (str(subject_id), last_year - 1),
    ]


def test_request_beyond_the_free_ones_shows_its_count_on_the_console_timeline(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    from honorbound.policy.jurisdictions import load_rules
    from honorbound.rights.rules import load_rights_rules

    free = load_rules().state("CA").free_requests
    counted = load_rights_rules().free_requests.types
    assert free is not None and free + 1 <= len(counted)
    email = person().email
    for kind in counted[: free + 1]:
        portal = _token(client.get(f"/p/{tenant.slug}/requests/new").text)
        asked = client.post(
            f"/p/{tenant.slug}/requests",
            data={"csrf_token": portal, "type": kind, "jurisdiction": "CA", "email": email},
        )
        assert asked.status_code == 200
    first, *_, last = _requests(runtime)
    _sign_in(client, runtime, tenant, "officer8", Role.PRIVACY_OFFICER)
    flagged = client.get(f"/console/requests/{last.id}").text
    assert f"(request {free + 1} in 12 months; {free} are free)" in flagged
    assert "are free)" not in client.get(f"/console/requests/{first.id}").text
