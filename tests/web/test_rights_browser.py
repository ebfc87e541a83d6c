"""Rights-request journeys in a real Chromium, with mail through the loopback SMTP server:
access request -> verification link -> staff hold and release -> package download; and a
denied request followed by an appeal."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import make_tenant
from tests.support.people import person
from tests.web.conftest import MailedServer, add_staff, link_token, mail_text, sign_in

pytestmark = pytest.mark.browser


def _known_subject(server: MailedServer, org_id: int, someone: Any) -> int:
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    with server.runtime.db.session() as session:
        return upsert_subject(
            session,
            server.runtime.vault_keys,
            org_id,
            [
                IdentityInput(IdentityKind.EMAIL, someone.email),
                IdentityInput(IdentityKind.PHONE, someone.phone),
            ],
            Actor("test", "system"),
            rules,
            birth_date=dt.date.fromisoformat(someone.birth_date),
        ).subject.id


def _submit(page: Any, base: str, slug: str, kind: str, state: str, email: str) -> None:
    page.goto(f"{base}/p/{slug}/choices")
    page.get_by_role("link", name="Make a privacy request").click()
    page.get_by_label("I want to").select_option(kind)
    page.get_by_label("State where you live").select_option(state)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send request").click()
    if kind == "delete":
        page.get_by_role("button", name="Yes, send my deletion request").click()
    assert "we handle every request the same way" in page.locator("#accepted").inner_text()


def test_access_request_verified_approved_and_downloaded(
    new_page: Any, mailed_server: MailedServer, tmp_path: Path
) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    subject_id = _known_subject(server, tenant.id, someone)
    consumer, staff = new_page(), new_page()

    _submit(consumer, base, tenant.slug, "access_specific", "CA", someone.email)
    [ack] = server.smtp.wait_for(1)
    assert ack["To"] == someone.email
    verify_token = link_token(ack, "verify")

    # Staff see it in the queue with its clock, and hold it before the consumer verifies.
    sign_in(staff, base, add_staff(server.runtime, tenant, "officer", Role.PRIVACY_OFFICER))
    staff.get_by_role("link", name="Requests", exact=True).click()
    row = staff.locator("#queue tbody tr").first
    assert "access specific" in row.inner_text() and "days left" in row.inner_text()
    row.get_by_role("link").click()
    assert staff.locator("#status").inner_text() == "verifying"
    staff.get_by_label("Hold: why fraud is suspected").fill("second request this week; check")
    staff.get_by_role("button", name="Hold").click()
    assert staff.locator("#status").inner_text() == "held"

    # The consumer proves the email (the link), phone and birth date, and signs.
    consumer.goto(f"{base}/p/{tenant.slug}/requests/verify?token={verify_token}")
    assert "3 matching details" in consumer.content()
    consumer.get_by_label("Phone number we have for you").fill(someone.phone)
    consumer.get_by_label("Date of birth (YYYY-MM-DD)").fill(someone.birth_date)
    consumer.get_by_label("Your full name").fill(f"{someone.first_name} {someone.last_name}")
    consumer.get_by_label("I sign this declaration").check()
    consumer.get_by_role("button", name="Confirm my request").click()
    expect(consumer.locator("#verified")).to_be_visible()
    assert consumer.locator("#status-value").inner_text() == "In progress"
    status_url = consumer.locator("#status-link").get_attribute("href")
    # The link worked once; it does not work again.
    again = consumer.goto(f"{base}/p/{tenant.slug}/requests/verify?token={verify_token}")
    assert again.status == 410 and "already used" in consumer.get_by_role("alert").inner_text()

    # Staff approve: release the held, verified request, which carries it out.
    staff.reload()
    staff.get_by_role("button", name="Release and carry out").click()
    assert staff.locator("#status").inner_text() == "completed"
    timeline = staff.locator("#timeline").inner_text()
    for step in ("received", "held", "verified", "released", "package link sent"):
        assert step in timeline

    # Staff may download the package too (to post it); that download is on the timeline.
    with staff.expect_download() as staff_download:
        staff.locator("#package-link").click()
    assert staff_download.value.suggested_filename.endswith(".zip")
    staff.reload()
    assert "package downloaded by staff" in staff.locator("#timeline").inner_text()

    # The bookmarked status link shows the outcome; an altered one is refused.
    consumer.goto(f"{base}{status_url}")
    assert consumer.locator("#status-value").inner_text() == "Complete"
    assert consumer.goto(f"{base}{status_url[:-4]}0000").status == 400

    mails = server.smtp.wait_for(2)
    ready = next(m for m in mails if "is ready" in str(m["Subject"]))
    download_token = link_token(ready, "download")
    url = f"{base}/p/{tenant.slug}/requests/download?token={download_token}"
    with consumer.expect_download() as info:
        consumer.evaluate("url => { window.location.href = url }", url)
    path = tmp_path / "package.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as package:
        names = package.namelist()
        data = json.loads(package.read("data.json"))
    assert "data.json" in names and "summary.html" in names
    assert someone.email in json.dumps(data)
    assert subject_id


def test_denied_request_then_appeal(new_page: Any, mailed_server: MailedServer) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    consumer, staff = new_page(), new_page()
    _submit(consumer, base, tenant.slug, "delete", "CO", someone.email)
    server.smtp.wait_for(1)

    sign_in(staff, base, add_staff(server.runtime, tenant, "officer", Role.PRIVACY_OFFICER))
    staff.get_by_role("link", name="Requests", exact=True).click()
    staff.locator("#queue tbody tr").first.get_by_role("link").click()
    reference = staff.get_by_role("heading", level=1).inner_text().removeprefix("Request ")
    # A denial needs its reason; "other" needs an explanation too.
    staff.get_by_label("Deny: reason").select_option("other")
    staff.get_by_role("button", name="Deny").click()
    assert (
        "reason: a denial for 'other' needs an explanation"
        in staff.locator("#form-error").inner_text()
    )
    staff.get_by_label("Deny: reason").select_option("unverifiable")
    staff.get_by_role("button", name="Deny").click()
    assert staff.locator("#status").inner_text() == "denied"

    denial = next(m for m in server.smtp.wait_for(2) if "decision" in str(m["Subject"]))
    assert "could not verify your identity" in mail_text(denial)
    consumer.goto(f"{base}/p/{tenant.slug}/requests/appeal?token={link_token(denial, 'appeal')}")
    consumer.get_by_role("button", name="Send appeal").click()  # empty: the browser refuses
    assert consumer.locator("#accepted").count() == 0
    consumer.get_by_label("Why you disagree").fill("I did get your email; please look again.")
    consumer.get_by_role("button", name="Send appeal").click()
    assert "We received your appeal" in consumer.locator("#accepted").inner_text()

    # "My requests": the reference alone shows nothing; a code goes to the request's address.
    consumer.goto(f"{base}/p/{tenant.slug}/requests/status")
    consumer.get_by_label("Request reference (from our email").fill(reference)
    consumer.get_by_role("button", name="Email me a code").click()
    assert "If this reference is one of ours" in consumer.locator("#code-notice").inner_text()
    code_mail = next(m for m in server.smtp.wait_for(5) if "one-time code" in str(m["Subject"]))
    assert code_mail["To"] == someone.email
    code = re.search(r"is:\s+(\d{6})", mail_text(code_mail)).group(1)  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"
    consumer.get_by_label("Code from the email (6 digits)").fill(wrong)
    consumer.get_by_role("button", name="Show my requests").click()
    assert "does not match this reference" in consumer.locator("#form-error").inner_text()
    assert consumer.locator("#status-ref").input_value() == reference  # kept
    consumer.get_by_label("Code from the email (6 digits)").fill(code)
    consumer.get_by_role("button", name="Show my requests").click()
    assert consumer.locator("#status-value").inner_text() == "Decided: not carried out"
    timeline = consumer.locator("#timeline").inner_text()
    assert "We received your request." in timeline and "emailed you our reasons" in timeline
    assert "held" not in timeline.lower()

    staff.get_by_role("link", name="Requests", exact=True).click()
    appeal_row = staff.locator("#queue tbody tr", has_text="appeal")
    appeal_row.get_by_role("link").click()
    appeal_url = staff.url
    # The officer who denied the request may not decide its appeal: no buttons, and a
    # hand-made POST (with a valid CSRF token) is refused with the reason in the page.
    assert "a colleague must decide" in staff.locator("#own-decision").inner_text()
    assert staff.get_by_role("button", name="Uphold the decision").count() == 0
    token = staff.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = staff.request.post(
        appeal_url + "/uphold", form={"csrf_token": token, "reason": "upheld by myself"}
    )
    assert refused.status == 403 and "a colleague must decide" in refused.text()

    # A colleague reads the consumer's reason (a logged reveal) and decides.
    colleague = new_page()
    sign_in(colleague, base, add_staff(server.runtime, tenant, "second", Role.PRIVACY_OFFICER))
    colleague.goto(appeal_url)
    reason_box = colleague.locator("#appeal-reason")
    assert "please look again" not in reason_box.inner_text()
    colleague.get_by_label("Why you need to read it").fill("deciding the appeal")
    colleague.get_by_role("button", name="Show the reason").click()
    assert colleague.locator("#appeal-reason-text").inner_text() == (
        "I did get your email; please look again."
    )
    assert "appeal reason viewed" in colleague.locator("#timeline").inner_text()
    colleague.get_by_label("Uphold the decision: explanation").fill("No matching record; upheld.")
    colleague.get_by_role("button", name="Uphold the decision").click()
    assert colleague.locator("#response").inner_text().startswith("denied")
    # The reveal is in the audit log, without the text.
    from sqlalchemy import select

    from honorbound.audit.models import AuditEntry

    with server.runtime.db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
        details = " ".join(str(d) for d in session.scalars(select(AuditEntry.details)))
    assert "rights.appeal_reason_viewed" in actions
    assert "please look again" not in details
    assert any("appeal" in mail_text(m).lower() for m in server.smtp.wait_for(4)[2:])


@pytest.mark.parametrize("kind", ["access_categories", "access_specific", "portability", "delete"])
def test_request_verified_directly_on_the_portal_is_carried_out(
    kind: str, new_page: Any, mailed_server: MailedServer
) -> None:
    """No staff step in between: the consumer confirms on the link's page and the request is
    carried out (before the fix it stayed 'verifying' and its execution job was skipped)."""
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    _known_subject(server, tenant.id, someone)
    consumer = new_page()

    _submit(consumer, base, tenant.slug, kind, "CA", someone.email)
    [ack] = server.smtp.wait_for(1)
    consumer.goto(f"{base}/p/{tenant.slug}/requests/verify?token={link_token(ack, 'verify')}")
    consumer.get_by_label("Phone number we have for you").fill(someone.phone)
    consumer.get_by_label("Date of birth (YYYY-MM-DD)").fill(someone.birth_date)
    if consumer.get_by_label("Your full name").count():
        consumer.get_by_label("Your full name").fill(f"{someone.first_name} {someone.last_name}")
        consumer.get_by_label("I sign this declaration").check()
    consumer.get_by_role("button", name="Confirm my request").click()
    expect(consumer.locator("#verified")).to_be_visible()
    status_url = consumer.locator("#status-link").get_attribute("href")

    consumer.goto(f"{base}{status_url}")
    assert consumer.locator("#status-value").inner_text() == "Complete"
    outcome = server.smtp.wait_for(2)[1]
    assert someone.email in str(outcome["To"])


def test_correction_request_says_what_to_correct_and_is_carried_out(
    new_page: Any, mailed_server: MailedServer
) -> None:
    """Defect: the form offered 'correct' but had no field for what to correct, so every
    correction was refused. The person picks the item by its plain name and types the value."""
    from sqlalchemy import select

    from honorbound.vault.collection import add_record
    from honorbound.vault.models import Record, Subject
    from honorbound.vault.rules import current_rules
    from honorbound.vault.sealing import open_text
    from tests.web.conftest import adopt

    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    adopt(server.runtime, tenant.id)
    someone, new_phone = person(), person().phone
    subject_id = _known_subject(server, tenant.id, someone)
    with server.runtime.db.session() as session:
        rules = current_rules(session, tenant.id, server.runtime.rules)
        assert rules is not None
        add_record(
            session,
            server.runtime.vault_keys,
            tenant.id,
            subject_id,
            "user.contact.phone_number",
            someone.phone,
            ["customer_service"],
            "directly",
            Actor("test", "system"),
            rules,
        )
    consumer = new_page()
    consumer.goto(f"{base}/p/{tenant.slug}/requests/new")
    consumer.get_by_label("I want to").select_option("correct")
    consumer.get_by_label("State where you live").select_option("CA")
    consumer.get_by_label("Email address").fill(someone.email)
    # Without saying what to correct: a plain sentence, and what was typed stays.
    consumer.get_by_role("button", name="Send request").click()
    assert "Say what to correct" in consumer.locator("#form-error").inner_text()
    assert consumer.get_by_label("Email address").input_value() == someone.email
    assert consumer.get_by_label("I want to").input_value() == "correct"
    assert consumer.get_by_label("State where you live").input_value() == "CA"
    consumer.get_by_label("What to correct").select_option(label="Phone number")
    consumer.get_by_label("The correct information").fill(new_phone)
    consumer.get_by_role("button", name="Send request").click()
    assert "we handle every request the same way" in consumer.locator("#accepted").inner_text()

    [ack] = server.smtp.wait_for(1)
    consumer.goto(f"{base}/p/{tenant.slug}/requests/verify?token={link_token(ack, 'verify')}")
    consumer.get_by_label("Phone number we have for you").fill(someone.phone)
    consumer.get_by_label("Date of birth (YYYY-MM-DD)").fill(someone.birth_date)
    if consumer.get_by_label("Your full name").count():
        consumer.get_by_label("Your full name").fill(f"{someone.first_name} {someone.last_name}")
        consumer.get_by_label("I sign this declaration").check()
    consumer.get_by_role("button", name="Confirm my request").click()
    consumer.goto(f"{base}{consumer.locator('#status-link').get_attribute('href')}")
    assert consumer.locator("#status-value").inner_text() == "Complete"

    # The bytes in the vault, opened with the subject's own data key, hold the new value.
    with server.runtime.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        record = session.scalars(
            select(Record).where(
                Record.subject_id == subject_id, Record.category == "user.contact.phone_number"
            )
        ).one()
        dek = server.runtime.vault_keys.data_key(tenant.id, subject.key_id)
        value = open_text(
            dek, tenant.id, subject.key_id, "record:user.contact.phone_number", record.value_sealed
        )
    assert value == new_phone


def test_demo_consumer_printed_by_the_demo_gets_a_copy_of_their_data(
    new_page: Any, mailed_server: MailedServer
) -> None:
    """Defect: demo people held two details and a copy needs three plus a declaration, so the
    demo's headline journey could not be finished. The demo prints one consumer to try."""
    from sqlalchemy import func, select

    from honorbound.demo import load_demo
    from honorbound.vault.models import Subject

    server, base = mailed_server, mailed_server.url
    printed = load_demo(server.runtime, quiet=True, subjects=3)
    line = next(x for x in printed.splitlines() if "email:" in x and "date of birth:" in x)
    fields = dict(
        part.split(": ", 1) for part in (p.strip() for p in line.split("  ")) if ": " in part
    )
    with server.runtime.db.session() as session:
        missing = session.scalar(
            select(func.count()).select_from(Subject).where(Subject.birth_date_sealed.is_(None))
        )
    assert missing == 0  # every demo person has a third detail to verify with

    consumer = new_page()
    _submit(consumer, base, "demo", "access_specific", fields["state"], fields["email"])
    [ack] = server.smtp.wait_for(1)
    consumer.goto(f"{base}/p/demo/requests/verify?token={link_token(ack, 'verify')}")
    consumer.get_by_label("Phone number we have for you").fill(fields["phone"])
    consumer.get_by_label("Date of birth (YYYY-MM-DD)").fill(fields["date of birth"])
    consumer.get_by_label("Your full name").fill(fields["name"])
    consumer.get_by_label("I sign this declaration").check()
    consumer.get_by_role("button", name="Confirm my request").click()
    expect(consumer.locator("#verified")).to_be_visible()
    consumer.goto(f"{base}{consumer.locator('#status-link').get_attribute('href')}")
    assert consumer.locator("#status-value").inner_text() == "Complete"
    assert any("is ready" in str(m["Subject"]) for m in server.smtp.wait_for(2))


def test_agents_signed_permission_is_kept_and_staff_can_open_it(
    new_page: Any, mailed_server: MailedServer, tmp_path: Path
) -> None:
    """Defect: the permission file was discarded (only its hash kept). It is kept sealed with
    the request; staff download exactly the bytes the agent uploaded, and that is logged."""
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    someone = person()
    document = b"%PDF-1.4\n% signed permission of a fictional consumer\n" + someone.email.encode()
    upload = tmp_path / "permission.pdf"
    upload.write_bytes(document)
    agent = new_page()
    agent.goto(f"{base}/p/{tenant.slug}/requests/new")
    agent.get_by_label("I want to").select_option("delete")
    agent.get_by_label("State where you live").select_option("CA")
    agent.get_by_label("Email address").fill(someone.email)
    agent.get_by_label("I am an authorized agent").check()
    agent.get_by_label("Agent's name").fill("Fictional Agent LLC")
    agent.get_by_label("The consumer's signed permission").set_input_files(str(upload))
    agent.get_by_role("button", name="Send request").click()
    # Deleting cannot be undone: a second step, where the file is added again.
    agent.get_by_label("The consumer's signed permission").set_input_files(str(upload))
    agent.get_by_role("button", name="Yes, send my deletion request").click()
    expect(agent.locator("#accepted")).to_be_visible()

    staff = new_page()
    sign_in(staff, base, add_staff(server.runtime, tenant, "officer", Role.PRIVACY_OFFICER))
    staff.get_by_role("link", name="Requests", exact=True).click()
    staff.locator("#queue tbody tr").first.get_by_role("link").click()
    with staff.expect_download() as download:
        staff.locator("#agent-permission").click()
    saved = tmp_path / "downloaded"
    download.value.save_as(saved)
    assert saved.read_bytes() == document
    staff.reload()
    assert "agent permission viewed" in staff.locator("#timeline").inner_text()
    # At rest it is sealed: the bytes are not in the database file in clear.
    from honorbound.rights.models import RightsRequest

    with server.runtime.db.session() as session:
        sealed = session.query(RightsRequest.details_sealed).scalar()
    assert sealed is not None and b"signed permission" not in sealed


def test_staff_filter_the_queue_by_type_status_state_due_and_reference(
    new_page: Any, mailed_server: MailedServer
) -> None:
    server, base = mailed_server, mailed_server.url
    tenant = make_tenant(server.runtime, "acme")
    consumer = new_page()
    _submit(consumer, base, tenant.slug, "delete", "CO", person().email)
    _submit(consumer, base, tenant.slug, "access_categories", "CA", person().email)
    _submit(consumer, base, tenant.slug, "delete", "CA", person().email)
    staff = new_page()
    sign_in(staff, base, add_staff(server.runtime, tenant, "officer", Role.PRIVACY_OFFICER))
    staff.get_by_role("link", name="Requests", exact=True).click()
    assert staff.locator("#queue tbody tr").count() == 3

    def shown() -> list[str]:
        return [
            row.inner_text()
            for row in staff.locator("#queue tbody tr").all()
            if "R-" in row.inner_text()
        ]

    staff.get_by_label("Type").select_option("delete")
    staff.get_by_label("State").select_option("CA")
    staff.get_by_role("button", name="Filter").click()
    [only] = shown()
    assert "delete" in only and "CA" in only
    reference = only.split()[0]
    # The filters stay chosen on the answer; by reference alone finds it too.
    assert staff.get_by_label("State").input_value() == "CA"
    staff.get_by_label("Type").select_option("")
    staff.get_by_label("State").select_option("")
    staff.get_by_label("Reference").fill(reference.lower())
    staff.get_by_role("button", name="Filter").click()
    assert [r.split()[0] for r in shown()] == [reference]
    staff.get_by_label("Reference").fill("")
    staff.get_by_label("Due").select_option("overdue")
    staff.get_by_role("button", name="Filter").click()
    assert shown() == []  # nothing received today is overdue
    staff.get_by_label("Due").select_option("")
    staff.get_by_label("Status").select_option("completed")
    staff.get_by_role("button", name="Filter").click()
    assert shown() == []
    # A hand-made address with a status that does not exist: a page saying what to do.
    response = staff.goto(f"{base}/console/requests?status=lost")
    assert response.status == 422
    assert "Choose a status from the list" in staff.locator("#form-error").inner_text()
