"""The guard keeps the adopted notice's promises (issue 13, defects 2-6), each with the shipped
example declarations, through the live API: the notice a value was collected under, recipients
that need consent, the subject types a purpose covers, marketing and per-recipient opt-outs,
SMS STOP, recipients without purposes, and no default `service_provider` for ad partners."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.consent.sms import HmacUrlParams, webhook_secret
from honorbound.policy.store import current
from honorbound.runtime import Runtime
from honorbound.vault.notices import notice_text
from tests.conftest import Tenant
from tests.support.people import remember

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"


def _text(name: str) -> str:
    return (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")


def _adopt(client: TestClient, tenant: Tenant, text: str) -> dict[str, Any]:
    r = client.post(
        "/v1/policy/versions",
        content=text.encode(),
        headers={**tenant.headers(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


_PHONE_SUFFIXES = itertools.count()


def _person(
    client: TestClient, tenant: Tenant, subject_type: str, **extra: Any
) -> tuple[int, str, str]:
    email = f"p.{uuid.uuid4().hex[:10]}@example.com"
    # 555-0100..0199 are the fictional numbers; a counter keeps two people of one test apart
    # (random picks from 100 values collided and merged them into one subject).
    phone = f"+1202555{next(_PHONE_SUFFIXES) % 100 + 100:04d}"
    remember(email, phone, phone[2:])
    r = client.post(
        "/v1/subjects",
        json={
            "type": subject_type,
            "identities": [{"kind": "email", "value": email}, {"kind": "phone", "value": phone}],
            **extra,
        },
        headers=tenant.headers(),
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], email, phone


def _record(client: TestClient, tenant: Tenant, sid: int, category: str, purpose: str) -> int:
    r = client.post(
        f"/v1/subjects/{sid}/records",
        json={"category": category, "value": f"v-{uuid.uuid4().hex[:8]}", "purposes": [purpose],
              "source": "web_form", "consent": {"opt_in": True, "evidence": {"form": "t"}}},
        headers=tenant.headers(),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _choice(
    client: TestClient, tenant: Tenant, email: str, purpose: str, action: str, scope: str = ""
) -> None:
    r = client.post(
        "/v1/consent/events",
        json={"identity": email, "purpose": purpose, "channel": "all", "action": action,
              "source": "agent_verbal", "scope": scope},
        headers=tenant.headers(),
    )  # fmt: skip
    assert r.status_code == 201, r.text


def _check(
    client: TestClient,
    tenant: Tenant,
    recipient: str | None,
    categories: list[str],
    purpose: str,
    subjects: list[int],
    basis: str | None = None,
) -> dict[str, Any]:
    r = client.post(
        "/v1/disclosures/check",
        json={"recipient": recipient, "categories": categories, "purpose": purpose,
              "subject_ids": subjects, "basis": basis},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _codes(check: dict[str, Any]) -> set[str]:
    return {r["code"] for r in check["reasons"]}


def test_data_is_used_as_the_notice_it_was_collected_under_said(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    """Liveops: a new version sells contact data to marketing partners. Records collected
    under version 1 are not sold without consent; records collected under version 2 are; the
    export leaves the old values out; consent recorded since lets them go."""
    _adopt(client, tenant, _text("liveops-2018"))
    old, old_email, _ = _person(client, tenant, "website-visitor")
    old_record = _record(client, tenant, old, "user.contact", "marketing")
    doc = yaml.safe_load(_text("liveops-2018"))
    partners = next(r for r in doc["recipients"] if r["id"] == "marketing-partners")
    partners["sale"] = True
    doc["commitments"]["sells_personal_data"] = True
    doc["rights"].append(
        {"id": "sale", "jurisdictions": ["all"], "rights": ["opt_out_sale"], "methods": ["email"]}
    )
    assert doc["changes"]["consent_for_past_data"] is True
    v2 = _adopt(client, tenant, yaml.safe_dump(doc, sort_keys=False))
    assert v2["material"]
    new, _, _ = _person(client, tenant, "website-visitor")
    new_record = _record(client, tenant, new, "user.contact", "marketing")

    check = _check(client, tenant, "marketing-partners", ["user.contact"], "marketing", [old, new])
    assert check["basis"] == "sale"
    assert check["allowed"] == {str(new): ["user.contact"]}
    refused = {r["record_id"] for r in check["reasons"]
               if r["code"] == "not_allowed_by_notice_at_collection"}  # fmt: skip
    assert old_record in refused and new_record not in refused
    exported = client.post(
        "/v1/disclosures/exports",
        json={"recipient": "marketing-partners", "categories": ["user.contact"],
              "purpose": "marketing", "subject_ids": [old, new]},
        headers=tenant.headers(Role.PRIVACY_OFFICER),
    )  # fmt: skip
    assert exported.status_code == 200, exported.text
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["subject"] for line in lines] == [new]

    _choice(client, tenant, old_email, "recipient", "opt_in", "marketing-partners")
    check = _check(client, tenant, "marketing-partners", ["user.contact"], "marketing", [old])
    assert check["allowed"] == {str(old): ["user.contact"]}

    # The announcement says what happens: old data keeps the old notice's terms.
    with runtime.db.session() as session:
        adopted = current(session, tenant.id)
        assert adopted is not None
        _, mail = notice_text(adopted, None)
    assert "checked against that version" in mail and "only if you agree" in mail


def test_a_recipient_that_needs_consent_gets_nothing_without_it(
    client: TestClient, tenant: Tenant
) -> None:
    _adopt(client, tenant, _text("alorica-2012"))
    sid, email, _ = _person(client, tenant, "customer")
    _record(client, tenant, sid, "user.contact", "marketing-email")
    check = _check(client, tenant, "marketing-partners", ["user.contact"], "marketing-email", [sid])
    assert check["allowed"] == {} and _codes(check) == {"recipient_needs_consent_none_recorded"}
    _choice(client, tenant, email, "recipient", "opt_in", "marketing-partners")
    check = _check(client, tenant, "marketing-partners", ["user.contact"], "marketing-email", [sid])
    assert check["allowed"] == {str(sid): ["user.contact"]}


def test_subject_types_marketing_and_per_recipient_opt_outs(
    client: TestClient, tenant: Tenant
) -> None:
    """Liveops: marketing partners receive visitors' contact data for `marketing` (visitors
    only), not an applicant's; a marketing opt-out and a "do not share with these companies"
    opt-out each stop it."""
    _adopt(client, tenant, _text("liveops-2018"))
    visitor, v_email, _ = _person(client, tenant, "website-visitor")
    applicant, _, _ = _person(client, tenant, "job-applicant")
    out_of_marketing, m_email, _ = _person(client, tenant, "website-visitor")
    told_us_not_to, r_email, _ = _person(client, tenant, "website-visitor")
    _choice(client, tenant, m_email, "marketing", "opt_out")
    _choice(client, tenant, r_email, "recipient", "opt_out", "marketing-partners")
    ids = [visitor, applicant, out_of_marketing, told_us_not_to]
    check = _check(client, tenant, "marketing-partners", ["user.contact"], "marketing", ids)
    assert check["allowed"] == {str(visitor): ["user.contact"]}
    by_subject = {r["subject_id"]: r["code"] for r in check["reasons"]}
    assert by_subject == {
        applicant: "subject_type_not_covered_by_purpose",
        out_of_marketing: "subject_opted_out_of_marketing",
        told_us_not_to: "subject_opted_out_of_this_recipient",
    }
    # The per-recipient opt-out is about that recipient only.
    check = _check(client, tenant, "affiliates", ["user.contact"], "marketing", [told_us_not_to])
    assert check["allowed"] == {str(told_us_not_to): ["user.contact"]}


def test_an_sms_stop_stops_texts_and_nothing_else(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    _adopt(client, tenant, _text("contact-center-1-2024"))
    sid, _, phone = _person(client, tenant, "user")
    url = f"http://testserver/v1/public/sms/{tenant.slug}"
    form = {"From": phone, "To": "+12025550199", "Body": "STOP", "MessageSid": "SM1"}
    signer = HmacUrlParams(webhook_secret(runtime.keys, tenant.id))
    r = client.post(
        f"/v1/public/sms/{tenant.slug}",
        data=form,
        headers={signer.header: signer.expected(url, form)},
    )
    assert r.status_code == 200 and r.json()["kind"] == "stop", r.text
    cats = ["user.contact", "user.government_id"]
    check = _check(client, tenant, "processors", cats, "support", [sid])
    assert check["allowed"] == {str(sid): cats} and check["reasons"] == []
    texts = client.post(
        "/v1/contact-decisions",
        json={"items": [{"identity": phone, "purpose": "service_messages", "channel": "sms",
                         "sender": "+12025550199"}]},
        headers=tenant.headers(),
    )  # fmt: skip
    assert texts.json()["results"][0]["allowed"] is False


def test_acquirers_without_purposes_and_ad_partners_without_a_basis(
    client: TestClient, tenant: Tenant
) -> None:
    _adopt(client, tenant, _text("contact-center-1-2024"))
    sid, _, _ = _person(client, tenant, "user")
    acquirer = _check(client, tenant, "acquirers", ["user.contact"], "support", [sid])
    assert acquirer["blocked"] and _codes(acquirer) == {"purpose_not_declared_for_recipient"}
    google = _check(client, tenant, "google", ["user.device"], "analytics", [sid])
    assert google["blocked"] and _codes(google) == {"basis_required"}
    assert google["basis"] is None  # never reported as a service-provider disclosure
    named = _check(
        client, tenant, "google", ["user.device"], "analytics", [sid], basis="service_provider"
    )
    assert not named["blocked"] and named["basis"] == "service_provider"
