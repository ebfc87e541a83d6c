"""The sub-processor register through the BPO's API, with the change notice delivered over
SMTP on loopback to the client's privacy contact (read from the sink, not from the outbox),
and bad input refused with nothing written or sent."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.runtime import Runtime
from tests.conftest import make_tenant
from tests.support.smtp import SmtpSink

CONTACT = "privacy@client-one.example"


# `rt` and `api` (a runtime mailing the loopback SMTP sink, its app) are tests/support/app.py's.


def _body(message: object) -> str:
    part = message.get_body(("plain",))  # type: ignore[attr-defined]
    return str(part.get_content())


def test_changes_notify_the_client_and_bad_input_changes_nothing(
    api: TestClient, rt: Runtime, smtp: SmtpSink
) -> None:
    bpo, other = make_tenant(rt, "bpo"), make_tenant(rt, "other-bpo")
    one = api.post(
        "/v1/clients",
        json={"slug": "one", "name": "Client One", "privacy_contact": CONTACT},
        headers=bpo.headers(),
    ).json()["id"]
    base = f"/v1/clients/{one}/subprocessors"
    made = api.post(
        base,
        json={"name": "Dialer Cloud Inc.", "purpose": "Outbound dialing",
              "location": "United States", "categories": ["user.contact.phone_number"],
              "objection_days": 14},
        headers=bpo.headers(),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=14)).date().isoformat()
    assert made.json()["objection_deadline"] == deadline
    mails = smtp.wait_for(1, timeout=60)
    assert [m["To"] for m in mails] == [CONTACT]
    assert "Dialer Cloud Inc." in mails[0]["Subject"]
    text_ = _body(mails[0])
    assert "Outbound dialing" in text_ and deadline in text_ and "United States" in text_
    removed = api.delete(f"{base}/{made.json()['id']}", headers=bpo.headers())
    assert removed.status_code == 200, removed.text
    mails = smtp.wait_for(2, timeout=60)
    assert "removed Dialer Cloud Inc." in mails[1]["Subject"]
    assert api.get(base, headers=bpo.headers()).json()["items"] == []
    before = len(smtp.messages)
    for body in (
        {"name": "", "purpose": "x", "location": "US"},
        {"name": "x" * 201, "purpose": "x", "location": "US"},
        {"name": "V", "purpose": "x", "location": "US", "objection_days": 400},
        {"name": "V", "purpose": "x", "location": "US", "categories": ["c"] * 51},
        {"name": "V", "purpose": "   ", "location": "US"},
        {"name": "V", "purpose": "x"},
    ):
        answer = api.post(base, json=body, headers=bpo.headers())
        assert answer.status_code == 422, (body, answer.text)
    assert (
        api.post(
            base, json={"name": "V", "purpose": "x", "location": "US"}, headers=other.headers()
        ).status_code
        == 404
    )
    assert api.delete(f"{base}/{made.json()['id']}", headers=bpo.headers()).status_code == 404
    with rt.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM subprocessors")).scalar_one() == 1
    assert len(smtp.wait_for(before + 1, timeout=2)) == before
