"""Issue 14, defect 7: after a deletion every identity of the erased person is suppressed (their
phone after an email request, a second address, a cookie id), as one-way keys only. Through the
real API: the subject is created, the request filed and verified, and decisions asked, over HTTP;
the suppression rows are then read from the database and checked against keys computed here."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, adopt_example, make_tenant
from tests.rights.conftest import link_in, mails_to, public, somebody
from tests.support.people import remember
from tests.support.smtp import SmtpSink

WEEKDAY = "2026-12-01T20:00:00Z"


def _blind_index(rt: Runtime, org: int, kind: str, normalized: str) -> str:
    """The oracle: HMAC-SHA256 of `kind:value` under the organization's blind-index key."""
    key = rt.keys.blind_index_key(org)
    return hmac.new(key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def _match_key(rt: Runtime, org: int, kind: str, normalized: str) -> int:
    secret = rt.keys.derived(f"org:{org}:consent-match")
    digest = hashlib.blake2b(f"{kind}:{normalized}".encode(), key=secret, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


NOTICES = sorted(path.stem for path in EXAMPLE_POLICIES.glob("*.yaml"))


@pytest.mark.parametrize("notice", NOTICES)
def test_every_identity_of_an_erased_person_is_suppressed(
    api: TestClient, rt: Runtime, smtp: SmtpSink, notice: str
) -> None:
    """Under each of the five example notices (one installation, one organization each)."""
    org = make_tenant(rt, notice.split("-")[0])
    adopt_example(rt, org.id, notice)
    declared = yaml.safe_load((EXAMPLE_POLICIES / f"{notice}.yaml").read_text(encoding="utf-8"))
    subject_type = declared["subjects"][-1]["id"]
    p = somebody()
    other = somebody()  # only for a second address and number of the same person
    second_email, second_phone = f"alt.{other.email}", other.phone
    cookie = "cookie-9f3a1c77e2"
    remember(second_email, cookie)
    created = api.post(
        "/v1/subjects",
        json={
            "type": subject_type,
            "jurisdiction": "CA",
            "identities": [
                {"kind": "email", "value": p.email},
                {"kind": "phone", "value": p.phone},
                {"kind": "email", "value": second_email},
                {"kind": "phone", "value": second_phone},
                {"kind": "cookie_id", "value": cookie},
            ],
        },
        headers=org.headers(Role.CLIENT),
    )
    assert created.status_code == 201, created.text

    # Before: nothing blocks marketing to any of them.
    items = [
        # A weekday afternoon in every US zone: calling hours allow the call.
        {"identity": p.phone, "purpose": "marketing", "channel": "voice", "at": WEEKDAY},
        {"identity": second_phone, "purpose": "marketing", "channel": "voice", "at": WEEKDAY},
        {"identity": second_email, "purpose": "marketing", "channel": "email"},
        {"identity": cookie, "kind": "cookie_id", "purpose": "marketing", "channel": "email"},
        {"identity": p.email, "purpose": "marketing", "channel": "email"},
    ]
    before = api.post(
        "/v1/contact-decisions", json={"items": items}, headers=org.headers(Role.CLIENT)
    )
    assert before.status_code == 200, before.text
    assert all("opted_out" not in r["reasons"] for r in before.json()["results"])

    # The request names only the email.
    filed = api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    assert filed.status_code == 202, filed.text
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert done.json()["verified"] is True, done.text
    assert "We deleted the personal information" in str(mails_to(smtp, p.email, 2)[1])

    after = api.post(
        "/v1/contact-decisions", json={"items": items}, headers=org.headers(Role.CLIENT)
    )
    assert after.status_code == 200, after.text
    assert [r["reasons"] for r in after.json()["results"]] == [["opted_out"]] * len(items)

    # The rows: one per identity, keyed by one-way keys computed independently here.
    with rt.db.session() as session:
        rows = list(
            session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.organization_id == org.id,
                    ConsentEvent.source == "rights_request",
                )
            )
        )
        session.expunge_all()
    expected = {
        ("email", p.email.lower()),
        ("phone", p.phone),
        ("email", second_email.lower()),
        ("phone", second_phone),
        ("cookie_id", cookie),
    }
    assert sorted((r.identity_kind, r.identity_index) for r in rows) == sorted(
        (kind, _blind_index(rt, org.id, kind, value)) for kind, value in expected
    )
    assert sorted(r.match_key for r in rows) == sorted(
        _match_key(rt, org.id, kind, value) for kind, value in expected
    )
    assert {(r.purpose, r.channel, r.scope, r.action) for r in rows} == {
        ("marketing", "all", "", "opt_out")
    }
    # Nothing readable: no column of any row holds an address, a number or the cookie id.
    for row in rows:
        text = " ".join(str(getattr(row, c.name)) for c in ConsentEvent.__table__.columns)
        for _, value in expected:
            assert value not in text and value[2:] not in text
