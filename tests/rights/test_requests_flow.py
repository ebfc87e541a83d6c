"""Deletion, correction, opt-out, duplicates, extension, denial and appeal, authorized agents
and SMS codes: each from intake to completion through the real API and real SMTP."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.consent.identity import identify
from honorbound.consent.models import ConsentEvent
from honorbound.disclosures.models import Disclosure, DisclosureSubject
from honorbound.notify.models import OutboxMessage
from honorbound.notify.outbox import unseal
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Identity, Record, Subject
from honorbound.vault.reading import reveal
from tests.conftest import Tenant
from tests.rights.conftest import ACTOR, body, link_in, mails_to, public, seed, somebody
from tests.support.smtp import SmtpSink


def _request(rt: Runtime, org: Tenant) -> RightsRequest:
    with rt.db.session() as session:
        rows = list(
            session.scalars(select(RightsRequest).where(RightsRequest.organization_id == org.id))
        )
    assert len(rows) == 1
    return rows[0]


def _disclose(rt: Runtime, org: Tenant, subject_id: int) -> None:
    with rt.db.session() as session:
        disclosure = Disclosure(
            organization_id=org.id,
            recipient_id="processors",
            recipient_name="Processors",
            recipient_type="processor",
            categories=["user.contact"],
            purpose="contracted-services",
            basis="service_provider",
            subject_count=1,
            initiator="test",
            channel="export",
        )
        session.add(disclosure)
        session.flush()
        session.add(
            DisclosureSubject(
                organization_id=org.id,
                disclosure_id=disclosure.id,
                subject_id=subject_id,
                categories=["user.contact.address"],
            )
        )


def test_delete_erases_keeps_a_suppression_entry_and_notifies_recipients(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    p = s.person
    _disclose(rt, org, s.subject_id)
    assert (
        api.post(
            public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email}
        ).status_code
        == 202
    )
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    assert (
        api.get(public(org, "/verify"), params={"token": token}).json()["data_points_needed"] == 2
    )
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert done.json()["verified"] is True, done.text

    answer = mails_to(smtp, p.email, 2)[1]
    text = body(answer)
    assert "We deleted the personal information" in text
    assert "What we kept, and why" in text and "24 months" in text
    # The letter names the recipients the ledger shows, and only those (issue 13).
    assert "shared your information with, so they delete it too: Processors." in text
    with rt.db.session() as session:
        subject = session.get(Subject, s.subject_id)
        assert subject is not None and subject.status == "erased"
        for model in (Record, Identity):
            assert (
                session.scalar(
                    select(func.count()).select_from(model).where(model.subject_id == s.subject_id)
                )
                == 0
            )
        assert not rt.vault_keys.has_data_key(org.id, subject.key_id)
        # The suppression entry is a blind index of the email, never the address.
        ref = identify(rt.keys, org.id, p.email, IdentityKind.EMAIL)
        events = list(
            session.scalars(select(ConsentEvent).where(ConsentEvent.identity_index == ref.index))
        )
        assert [(e.purpose, e.action, e.source) for e in events] == [
            ("marketing", "opt_out", "rights_request")
        ]
        request = session.scalar(
            select(RightsRequest).where(RightsRequest.organization_id == org.id)
        )
        assert request is not None
        assert request.status == "completed" and request.contact_sealed is None
        assert request.response_note and "24 months" in request.response_note
    # Recipients on record are notified through the outbox (to the privacy contact to forward).
    notice = mails_to(smtp, "info@contact-center1.com")
    assert notice and "Processors" in body(notice[0]) and p.email in body(notice[0])


def test_letters_do_not_claim_recipients_were_told_when_none_were(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    """No disclosure on record: neither the deletion nor the correction letter may say that
    companies were told, and no recipient notice goes out (issue 13, defect 8)."""
    s = seed(rt, org.id)
    p = s.person
    fix = [{"category": "user.contact.address", "value": "1 Main St"}]
    api.post(
        public(org),
        json={"type": "correct", "jurisdiction": "CT", "email": p.email, "corrections": fix},
    )
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"birth_date": p.birth_date}}
    )
    corrected = body(mails_to(smtp, p.email, 2)[1])
    assert "Corrected: user.contact.address" in corrected
    assert "We told the companies" not in corrected
    assert "had not shared your information with any other company" in corrected
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    token = link_in(mails_to(smtp, p.email, 3)[2], "verify")
    api.post(public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}})
    deleted = body(mails_to(smtp, p.email, 4)[3])
    assert "We deleted the personal information" in deleted
    assert "We also told the companies" not in deleted
    assert "had not shared your information with any other company" in deleted
    with rt.db.session() as session:
        assert not session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "rights.recipient_notice")
        )


def test_deleting_sensitive_data_needs_three_points_and_a_declaration(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id, sensitive=True).person
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    two = api.post(public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}})
    assert two.json() | {} and two.json()["verified"] is False
    assert two.json()["data_points_needed"] == 3 and two.json()["declaration_needed"] is True
    no_box = api.post(
        public(org, "/verify"),
        json={"token": token, "declaration": {"typed_name": "Someone", "agreed": False}},
    )
    assert no_box.status_code == 422
    assert no_box.json()["errors"][0]["field"] == "body.declaration.agreed"


def test_correction_updates_the_vault_and_tells_recipients(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    p = s.person
    _disclose(rt, org, s.subject_id)
    new_street = somebody().street
    answer = api.post(
        public(org),
        json={
            "type": "correct",
            "jurisdiction": "CT",
            "email": p.email,
            "corrections": [
                {"category": "user.contact.address", "value": new_street},
                {"category": "user.employment_history", "value": "Engineer"},
            ],
        },
    )
    assert answer.status_code == 202, answer.text
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"birth_date": p.birth_date}}
    )
    done = body(mails_to(smtp, p.email, 2)[1])
    assert "Corrected: user.contact.address" in done and "user.employment_history" in done
    with rt.db.session() as session:
        record = session.scalar(
            select(Record).where(
                Record.subject_id == s.subject_id, Record.category == "user.contact.address"
            )
        )
        assert record is not None
        value = reveal(
            session, rt.vault_keys, org.id, s.subject_id, "record", record.id, ACTOR, "test check"
        )
        assert value == new_street
    request = _request(rt, org)
    assert request.response == "complied_in_part"
    assert mails_to(smtp, "info@contact-center1.com")


def test_opt_out_needs_no_verification_and_reaches_the_ledger(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    answer = api.post(
        public(org), json={"type": "opt_out_sale", "jurisdiction": "CA", "email": p.email}
    )
    assert answer.status_code == 202
    done = mails_to(smtp, p.email)[0]
    assert "It takes effect now" in body(done)
    request = _request(rt, org)
    assert request.status == "completed" and request.verified_at is None
    # CA 7026: 15 business days.
    assert 19 <= (request.due_at - request.received_at).days <= 25
    with rt.db.session() as session:
        ref = identify(rt.keys, org.id, p.email, IdentityKind.EMAIL)
        event = session.scalar(select(ConsentEvent).where(ConsentEvent.identity_index == ref.index))
        assert event is not None and (event.purpose, event.channel, event.action) == (
            "sale",
            "all",
            "opt_out",
        )


def test_duplicate_open_requests_merge(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    first = api.post(
        "/v1/requests",
        json={
            "type": "access_categories",
            "jurisdiction": "CA",
            "email": p.email,
            "manner": "phone",
        },
        headers=org.headers(Role.AGENT),
    )
    assert first.status_code == 201 and first.json()["merged"] is False
    assert first.json()["acknowledged_at"] is not None
    again = api.post(
        public(org),
        json={"type": "access_categories", "jurisdiction": "CA", "email": p.email.upper()},
    )
    assert again.status_code == 202
    third = api.post(
        "/v1/requests",
        json={
            "type": "access_categories",
            "jurisdiction": "CA",
            "email": p.email,
            "manner": "email",
        },
        headers=org.headers(Role.AGENT),
    )
    assert third.json()["merged"] is True and third.json()["id"] == first.json()["id"]
    assert third.json()["merged_count"] == 2
    listed = api.get("/v1/requests", headers=org.headers(Role.PRIVACY_OFFICER)).json()
    assert [r["id"] for r in listed] == [first.json()["id"]]
    # The same person by another identity (their phone) is the same request too.
    by_phone = api.post(
        "/v1/requests",
        json={
            "type": "access_categories",
            "jurisdiction": "CA",
            "phone": p.phone,
            "manner": "phone",
        },
        headers=org.headers(Role.AGENT),
    )
    assert by_phone.json()["merged"] is True and by_phone.json()["id"] == first.json()["id"]
    # Another type for the same person is its own request.
    other = api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    assert other.status_code == 202
    assert len(api.get("/v1/requests", headers=org.headers(Role.AUDITOR)).json()) == 2


def test_one_extension_with_notice(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    created = api.post(
        "/v1/requests",
        json={"type": "access_specific", "jurisdiction": "IA", "email": p.email, "manner": "mail"},
        headers=org.headers(Role.PRIVACY_OFFICER),
    ).json()
    received = dt.datetime.fromisoformat(created["received_at"])
    due = dt.datetime.fromisoformat(created["due_at"])
    # Iowa's law allows 90 days; the adopted notice (Contact Center 1) promises 45: the
    # stricter wins (issue 13).
    assert (due - received).days == 45
    headers = org.headers(Role.PRIVACY_OFFICER)
    extended = api.post(
        f"/v1/requests/{created['id']}/extend",
        json={"reason": "We hold records in archives."},
        headers=headers,
    )
    assert extended.status_code == 200, extended.text
    assert (dt.datetime.fromisoformat(extended.json()["due_at"]) - due).days == 45
    notice = mails_to(smtp, p.email, 2)[1]
    assert "We need more time" in body(notice) and "archives" in body(notice)
    twice = api.post(
        f"/v1/requests/{created['id']}/extend", json={"reason": "again"}, headers=headers
    )
    assert twice.status_code == 409
    assert (
        api.post(
            f"/v1/requests/{created['id']}/extend",
            json={"reason": "x"},
            headers=org.headers(Role.AGENT),
        ).status_code
        == 403
    )


def test_denial_appeal_and_upheld_decision_names_the_attorney_general(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id, jurisdiction="VA").person
    api.post(public(org), json={"type": "delete", "jurisdiction": "VA", "email": p.email})
    request = _request(rt, org)
    headers = org.headers(Role.PRIVACY_OFFICER)
    assert (
        api.post(
            f"/v1/requests/{request.id}/deny", json={"basis": "fraud"}, headers=headers
        ).status_code
        == 422
    )
    denied = api.post(
        f"/v1/requests/{request.id}/deny",
        json={"basis": "fraud", "explanation": "The request came from a known fraudulent source."},
        headers=headers,
    )
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    letter = mails_to(smtp, p.email, 2)[1]
    assert "You can appeal this decision" in body(letter) and "60 days" in body(letter)
    appeal_token = link_in(letter, "appeal")
    # The verify link of a denied request no longer works.
    verify_token = link_in(mails_to(smtp, p.email)[0], "verify")
    assert api.post(public(org, "/verify"), json={"token": verify_token}).status_code == 410

    filed = api.post(public(org, "/appeal"), json={"token": appeal_token, "reason": "It was me."})
    assert filed.status_code == 202, filed.text
    assert (
        api.post(
            public(org, "/appeal"), json={"token": appeal_token, "reason": "again"}
        ).status_code
        == 410
    )
    appeals = api.get("/v1/requests", params={"type": "appeal"}, headers=headers).json()
    assert len(appeals) == 1 and appeals[0]["appeal_of_id"] == request.id
    assert (
        dt.datetime.fromisoformat(appeals[0]["due_at"])
        - dt.datetime.fromisoformat(appeals[0]["received_at"])
    ).days == 60
    assert "will decide by" in body(mails_to(smtp, p.email, 3)[2])

    # Whoever denied the request may not decide its appeal (a different person reviews it).
    own = api.post(
        f"/v1/requests/{appeals[0]['id']}/appeal-decision",
        json={"outcome": "denied", "explanation": "I stand by my own decision."},
        headers=headers,
    )
    assert own.status_code == 403 and "colleague" in own.json()["detail"]
    colleague = org.headers(Role.ADMIN)
    upheld = api.post(
        f"/v1/requests/{appeals[0]['id']}/appeal-decision",
        json={"outcome": "denied", "explanation": "The source is on our fraud list."},
        headers=colleague,
    )
    assert upheld.status_code == 200, upheld.text
    decision = body(mails_to(smtp, p.email, 4)[3])
    assert "upheld our decision" in decision and "Virginia Attorney General" in decision
    again = api.post(
        f"/v1/requests/{appeals[0]['id']}/appeal-decision",
        json={"outcome": "granted"},
        headers=colleague,
    )
    assert again.status_code == 409


def test_granted_appeal_reopens_the_request(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id, jurisdiction="CT").person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CT", "email": p.email}
    )
    request = _request(rt, org)
    headers = org.headers(Role.PRIVACY_OFFICER)
    api.post(f"/v1/requests/{request.id}/deny", json={"basis": "unverifiable"}, headers=headers)
    appeal_token = link_in(mails_to(smtp, p.email, 2)[1], "appeal")
    api.post(public(org, "/appeal"), json={"token": appeal_token, "reason": "Please look again."})
    appeal_id = api.get("/v1/requests", params={"type": "appeal"}, headers=headers).json()[0]["id"]
    granted = api.post(
        f"/v1/requests/{appeal_id}/appeal-decision",
        json={"outcome": "granted"},
        headers=org.headers(Role.ADMIN),
    )
    assert granted.status_code == 200
    original = api.get(f"/v1/requests/{request.id}", headers=headers).json()
    assert original["status"] == "verifying" and original["response"] is None
    assert [e["kind"] for e in original["events"]][-1] == "reopened"
    # A fresh verification link went out; it completes the original request.
    fresh = [m for m in mails_to(smtp, p.email, 5) if "How verification works" in body(m)][-1]
    done = api.post(
        public(org, "/verify"),
        json={"token": link_in(fresh, "verify"), "data_points": {"phone": p.phone}},
    )
    assert done.json()["verified"] is True
    assert api.get(f"/v1/requests/{request.id}", headers=headers).json()["status"] == "completed"


def test_california_denial_offers_no_appeal(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    request = _request(rt, org)
    api.post(
        f"/v1/requests/{request.id}/deny",
        json={"basis": "not_a_consumer"},
        headers=org.headers(Role.ADMIN),
    )
    letter = body(mails_to(smtp, p.email, 2)[1])
    assert "we could not find that you are a consumer" in letter and "appeal" not in letter.lower()


def test_authorized_agent_then_consumer_confirms(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    permission = b"%PDF-1.4 signed permission"
    missing = api.post(
        "/v1/requests",
        json={
            "type": "delete",
            "jurisdiction": "CA",
            "email": p.email,
            "manner": "authorized_agent",
        },
        headers=org.headers(Role.AGENT),
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.agent"
    created = api.post(
        "/v1/requests",
        json={
            "type": "access_categories",
            "jurisdiction": "CA",
            "email": p.email,
            "manner": "authorized_agent",
            "agent": {
                "name": "Agent Co",
                "permission_document": base64.b64encode(permission).decode(),
            },
        },
        headers=org.headers(Role.AGENT),
    )
    assert created.status_code == 201, created.text
    assert created.json()["agent_permission_sha256"] == hashlib.sha256(permission).hexdigest()
    mail = mails_to(smtp, p.email)[0]
    assert "authorized agent" in body(mail)
    api.post(
        public(org, "/verify"),
        json={"token": link_in(mail, "verify"), "data_points": {"phone": p.phone}},
    )
    detail = api.get(f"/v1/requests/{created.json()['id']}", headers=org.headers(Role.AGENT)).json()
    assert "agent_confirmed" in [e["kind"] for e in detail["events"]]
    assert detail["status"] == "completed"


def test_sms_code_verifies_and_locks_after_wrong_codes(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    created = api.post(
        "/v1/requests",
        json={
            "type": "access_categories",
            "jurisdiction": "CA",
            "phone": p.phone,
            "manner": "phone",
        },
        headers=org.headers(Role.AGENT),
    ).json()
    with rt.db.session() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "rights.code"))
        assert row is not None and row.channel == "sms"  # no SMS transport here: held in the outbox
        text = unseal(rt.keys, row, rt.vault_keys).body
    code = text.rsplit(" ", 1)[1].rstrip(".")
    wrong = "000000" if code != "000000" else "111111"
    bad = api.post(public(org, "/verify"), json={"reference": created["reference"], "code": wrong})
    assert bad.status_code == 400
    good = api.post(
        public(org, "/verify"),
        json={
            "reference": created["reference"],
            "code": code,
            "data_points": {"birth_date": p.birth_date},
        },
    )
    assert good.status_code == 200 and good.json()["verified"] is True, good.text
    assert good.json()["matched"] == 2
    # Without an email, the answer (the download link) goes by SMS.
    with rt.db.session() as session:
        ready = session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "rights.access_ready")
        )
        assert ready is not None and ready.channel == "sms"
        assert "/requests/download?token=" in unseal(rt.keys, ready, rt.vault_keys).body
    # The code is spent.
    assert (
        api.post(
            public(org, "/verify"), json={"reference": created["reference"], "code": code}
        ).status_code
        == 410
    )

    second = api.post(
        "/v1/requests",
        json={"type": "delete", "jurisdiction": "CA", "phone": p.phone, "manner": "phone"},
        headers=org.headers(Role.AGENT),
    ).json()
    statuses = [
        api.post(
            public(org, "/verify"), json={"reference": second["reference"], "code": wrong}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:4] == [400] * 4 and statuses[4:] == [429, 429]


def test_bad_input_is_refused_and_writes_nothing(api: TestClient, rt: Runtime, org: Tenant) -> None:
    p = somebody()
    cases = [
        ({"type": "delete", "jurisdiction": "CA", "email": "not-an-email"}, "body.email"),
        ({"type": "delete", "jurisdiction": "XX", "email": p.email}, "body.jurisdiction"),
        ({"type": "delete", "jurisdiction": "CA"}, "body.email"),
        ({"type": "correct", "jurisdiction": "CA", "email": p.email}, "body.corrections"),
        ({"type": "appeal", "jurisdiction": "CA", "email": p.email}, "body.type"),
        ({"type": "delete", "jurisdiction": "CA", "phone": "12"}, "body.phone"),
    ]
    for payload, field in cases:
        answer = api.post(public(org), json=payload)
        assert answer.status_code == 422, (payload, answer.text)
        assert answer.json()["errors"][0]["field"] == field, answer.json()
        assert p.email not in answer.text
    schema = api.post(public(org), json={"type": "nope", "jurisdiction": "CA", "email": p.email})
    assert schema.status_code == 422 and "type" in schema.text
    extra = api.post(
        public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email, "x": 1}
    )
    assert extra.status_code == 422
    assert (
        api.post(
            "/v1/public/orgs/nobody/requests",
            json={"type": "delete", "jurisdiction": "CA", "email": p.email},
        ).status_code
        == 404
    )
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RightsRequest)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_public_status_by_reference(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    reference = _request(rt, org).reference
    assert reference in body(mails_to(smtp, p.email)[0])
    status = api.get(public(org, "/status"), params={"reference": reference})
    assert status.status_code == 200 and status.json()["status"] == "verifying"
    assert api.get(public(org, "/status"), params={"reference": "R-NOPE"}).status_code == 404


def test_shine_the_light_lists_last_years_third_parties(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    p = s.person
    last_year = dt.datetime.now(dt.UTC).replace(month=6, day=1) - dt.timedelta(days=366)
    with rt.db.session() as session:
        for rid, name, rtype, at in (
            ("meta", "Meta (Facebook, Instagram)", "advertising_partner", last_year),
            ("processors", "Processors", "processor", last_year),  # not a third party
            ("google", "Google", "analytics_partner", dt.datetime.now(dt.UTC)),  # this year
        ):
            disclosure = Disclosure(
                organization_id=org.id,
                recipient_id=rid,
                recipient_name=name,
                recipient_type=rtype,
                categories=["user.device"],
                purpose="advertising",
                basis="sharing",
                subject_count=1,
                initiator="test",
                channel="export",
                disclosed_at=at,
            )
            session.add(disclosure)
            session.flush()
            session.add(
                DisclosureSubject(
                    organization_id=org.id,
                    disclosure_id=disclosure.id,
                    subject_id=s.subject_id,
                    categories=["user.device"],
                )
            )
    api.post(public(org), json={"type": "shine_the_light", "jurisdiction": "CA", "email": p.email})
    request = _request(rt, org)
    assert (request.due_at - request.received_at).days == 30
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    assert api.post(public(org, "/verify"), json={"token": token}).json()["verified"] is True
    answer = body(mails_to(smtp, p.email, 2)[1])
    assert "Meta (Facebook, Instagram)" in answer
    assert "Processors" not in answer and "Google" not in answer


def test_hold_release_and_deny_need_their_fields(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    request = _request(rt, org)
    headers = org.headers(Role.PRIVACY_OFFICER)
    url = f"/v1/requests/{request.id}"
    assert (
        api.post(f"{url}/deny", json={}, headers=headers).json()["errors"][0]["field"]
        == "body.basis"
    )
    assert api.post(f"{url}/hold", json={}, headers=headers).status_code == 422
    held = api.post(
        f"{url}/hold", json={"reason": "Mismatched device fingerprint"}, headers=headers
    )
    assert held.json()["status"] == "held"
    # Verification while held is recorded but nothing is carried out.
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    assert (
        api.post(
            public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
        ).json()["verified"]
        is True
    )
    assert api.get(url, headers=headers).json()["status"] == "held"
    assert len(mails_to(smtp, p.email)) == 1
    released = api.post(f"{url}/release", headers=headers)
    assert released.status_code == 200
    assert api.get(url, headers=headers).json()["status"] == "completed"
    assert link_in(mails_to(smtp, p.email, 2)[1], "download")
    assert api.post(f"{url}/release", headers=headers).status_code == 409


def test_a_controllers_system_files_requests_and_limits_take_effect(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    created = api.post(
        "/v1/requests",
        json={
            "type": "limit_sensitive",
            "jurisdiction": "CO",
            "email": p.email,
            "manner": "portal",
        },
        headers=org.headers(Role.CLIENT),
    )
    assert created.status_code == 201, created.text
    assert created.json()["manner"] == "controller" and created.json()["status"] == "completed"
    with rt.db.session() as session:
        ref = identify(rt.keys, org.id, p.email, IdentityKind.EMAIL)
        event = session.scalar(select(ConsentEvent).where(ConsentEvent.identity_index == ref.index))
        assert event is not None and event.purpose == "sensitive_data_use"
    # The controller's system may file but not read the staff queue.
    assert api.get("/v1/requests", headers=org.headers(Role.CLIENT)).status_code == 403
    assert api.get("/v1/requests").status_code == 401
