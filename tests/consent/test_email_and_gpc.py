"""Email unsubscribe links (RFC 8058) through real SMTP and the real app; the GPC signal."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.config import Settings
from honorbound.consent import links
from honorbound.consent.identity import identify
from honorbound.consent.models import ConsentEvent
from honorbound.consent.rules import load
from honorbound.notify import outbox
from honorbound.notify.models import Channel
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, reasons
from tests.support.people import person
from tests.support.smtp import SmtpSink


def _events(runtime: Runtime) -> list[ConsentEvent]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
        session.expunge_all()
    return rows


def _link(client: TestClient, tenant: Tenant, email: str, list_id: str = "newsletter") -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/v1/consent/unsubscribe-links",
        json={"identity": email, "list_id": list_id},
        headers=tenant.headers(Role.CLIENT),
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_mail_carries_headers_and_one_click_post_acts_at_once(
    client: TestClient, runtime: Runtime, tenant: Tenant, settings: Settings, smtp: SmtpSink
) -> None:
    # The test's own SMTP server (aiosmtpd) logs envelopes at DEBUG; it plays the mailbox.
    mailbox_log = logging.getLogger("mail.log")
    previous = mailbox_log.level
    mailbox_log.setLevel(logging.WARNING)
    try:
        _one_click(client, runtime, tenant, settings, smtp)
    finally:
        mailbox_log.setLevel(previous)


def _one_click(
    client: TestClient, runtime: Runtime, tenant: Tenant, settings: Settings, smtp: SmtpSink
) -> None:
    who = person().email
    link = _link(client, tenant, who)
    assert link["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Send a real message through the outbox and SMTP, as a campaign would.
    mailer = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}), immediate_jobs=True)
    try:
        with mailer.db.session() as session:
            outbox.put(
                session,
                mailer.keys,
                mailer.jobs,
                tenant.id,
                Channel.EMAIL,
                "newsletter",
                who,
                "This month's news",
                "News",
                headers=link["headers"],
            )
        deadline = time.time() + 10
        while not smtp.messages and time.time() < deadline:
            time.sleep(0.05)
    finally:
        mailer.close()
    received = smtp.messages[0]
    target = re.search(r"<(http[^>]+)>", str(received["List-Unsubscribe"]))
    assert target and received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = target.group(1).replace("http://testserver", "")
    # The mail client's POST: no login, no second click, no redirect.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    events = _events(runtime)
    # Sender-wide by default (issue 14): scope "" covers every list; the list is evidence.
    assert [(e.purpose, e.channel, e.scope, e.action, e.source) for e in events] == [
        ("marketing", "email", "", "opt_out", "email_one_click")
    ]
    assert '"list_id": "newsletter"' in events[0].evidence
    assert reasons(
        decide(runtime, tenant.id, [who], "marketing", "email", senders=["newsletter"])
    ) == [("opted_out",)]
    assert not decide(runtime, tenant.id, [who], "marketing", "email", senders=["offers"]).allowed[
        0
    ]
    # A second POST (clients retry) records nothing new.
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert len(_events(runtime)) == 1


def test_get_shows_a_confirm_page_and_changes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    who = person().email
    path = _link(client, tenant, who)["url"].replace("http://testserver", "")
    page = client.get(path)
    assert page.status_code == 200
    assert '<form method="post"' in page.text and "Unsubscribe</button>" in page.text
    assert who not in page.text
    assert _events(runtime) == []
    done = client.post(path, data={"confirm": "1"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert [e.source for e in _events(runtime)] == ["email_link"]
    # A POST with neither field does nothing.
    other = _link(client, tenant, person().email)["url"].replace("http://testserver", "")
    assert client.post(other, data={}).status_code == 400
    assert len(_events(runtime)) == 1


def test_link_valid_90_days_and_tampered_or_expired_rejected(
    runtime: Runtime, tenant: Tenant, client: TestClient
) -> None:
    valid_days = load().unsubscribe_link_valid_days
    assert valid_days >= 90
    ref = identify(runtime.keys, tenant.id, person().email)
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    token = links.issue(runtime.keys, tenant.id, ref, "newsletter", now=issued)
    assert links.read(runtime.keys, token, valid_days).list_id == "newsletter"
    assert client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    old = links.issue(
        runtime.keys,
        tenant.id,
        ref,
        "offers",
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=valid_days + 1),
    )
    with pytest.raises(links.LinkError, match="expired"):
        links.read(runtime.keys, old, valid_days)
    expired = client.post(f"/u/{old}", data={"List-Unsubscribe": "One-Click"})
    assert expired.status_code == 400 and "expired" in expired.text
    body, mac = token.split(".")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    with pytest.raises(links.LinkError):
        links.read(runtime.keys, tampered, valid_days)
    assert client.get(f"/u/{tampered}").status_code == 400
    assert client.post(f"/u/{tampered}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get("/u/garbage").status_code == 400
    assert [e.scope for e in _events(runtime)] == [""]


def test_gpc_header_records_the_opt_outs(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    url = f"/v1/public/consent/{tenant.slug}/gpc"
    cookie = {"cookie_id": "c0ffee-cookie-123", "state": "CA"}
    without = client.post(url, json=cookie)
    assert without.json() == {"gpc": False, "recorded": [], "honored": False, "status": None}
    first = client.post(url, json=cookie, headers={"Sec-GPC": "1"})
    assert first.status_code == 200
    assert sorted(first.json()["recorded"]) == ["sale", "sharing", "targeted_advertising"]
    assert {e.source for e in _events(runtime)} == {"gpc_signal"}
    # Sent again on the next request: already in force, nothing new.
    assert client.post(url, json=cookie, headers={"Sec-GPC": "1"}).json()["recorded"] == []
    assert len(_events(runtime)) == 3
    result = decide(
        runtime, tenant.id, ["c0ffee-cookie-123"] * 3, "sale", "email", kinds=["cookie_id"] * 3
    )
    assert not result.allowed.any()
    # A state whose law is in force and does not require it, and a notice without the promise:
    # not recorded.
    other = client.post(
        url, json={"cookie_id": "another-cookie-1", "state": "VA"}, headers={"Sec-GPC": "1"}
    )
    assert other.json()["recorded"] == []
    # A state without a comprehensive law (FL), or one whose law is not in force yet (VT until
    # 2028): the organization's default is the strictest rule, so the signal is honored.
    for cookie_id, state in (("florida-cookie-1", "FL"), ("vermont-cookie-1", "VT")):
        honored = client.post(
            url, json={"cookie_id": cookie_id, "state": state}, headers={"Sec-GPC": "1"}
        )
        assert sorted(honored.json()["recorded"]) == ["sale", "sharing", "targeted_advertising"]
    assert client.post(url, json={"cookie_id": "x"}, headers={"Sec-GPC": "1"}).status_code == 422


def test_gpc_on_the_unsubscribe_page_covers_the_identified_person(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    who = person().email
    path = _link(client, tenant, who)["url"].replace("http://testserver", "")
    # No state known and no promise in an adopted notice: the unknown-state default is the
    # strictest rule, and California expects the signal processed per browser and person
    # (11 CCR 7025), so it is applied to the identified person.
    client.get(path, headers={"Sec-GPC": "1"})
    assert sorted(e.purpose for e in _events(runtime)) == [
        "sale",
        "sharing",
        "targeted_advertising",
    ]
    assert {e.source for e in _events(runtime)} == {"gpc_signal"}


def test_gpc_declaration(client: TestClient) -> None:
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["gpc"] is True and dt.date.fromisoformat(body["lastUpdate"])


def test_link_for_a_bad_list_id_or_identity(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    bad = client.post(
        "/v1/consent/unsubscribe-links",
        json={"identity": person().email, "list_id": "a b"},
        headers=tenant.headers(),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "list_id"
    bad = client.post(
        "/v1/consent/unsubscribe-links",
        json={"identity": "x@", "list_id": "ok"},
        headers=tenant.headers(),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "identity"
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 0
