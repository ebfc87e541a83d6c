"""Staff accounts, walked in Chromium: an administrator's first sign-in sets up TOTP two-factor
(QR code and key shown once, recovery codes), invites a privacy officer by email, who chooses a
password from the mailed link and sets up their own authenticator; the administrator changes
the role and disables the account (its session ends). Wrong codes lock the username like wrong
passwords. Codes are computed by pyotp from the key the page showed, as a phone app would."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import AuditEntry
from honorbound.config import Settings
from tests.conftest import Tenant, make_tenant
from tests.web.conftest import MailedServer, add_staff, mail_text

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The product's default: administrators and privacy officers must use two-factor.
    return settings.model_copy(update={"two_factor_roles": ["admin", "privacy_officer"]})


def _password_step(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _enroll(page: Any, base: str) -> tuple[str, list[str]]:
    """On the set-up page: read the key, prove a wrong code is refused, enter a right one."""
    page.wait_for_url(f"{base}/login/two-factor")
    assert page.locator(".qr svg").count() == 1
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code from the app").fill(
        "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    )
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert "did not match" in page.get_by_role("alert").inner_text()
    # The same key is shown again (the app may have scanned it already).
    assert page.locator("#totp-secret").inner_text().strip() == secret
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = [c.strip() for c in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(codes) == 10 and len(set(codes)) == 10
    page.get_by_role("link", name="Continue to the console").click()
    page.wait_for_url(f"{base}/console")
    return secret, codes


def test_two_factor_invite_role_and_disable(new_page: Any, mailed_server: MailedServer) -> None:
    runtime, base = mailed_server.runtime, mailed_server.url
    tenant = make_tenant(runtime, "org-staff")
    admin_login = add_staff(runtime, tenant, "boss", Role.ADMIN)
    admin = new_page()
    _password_step(admin, base, "boss", admin_login.password)
    secret, codes = _enroll(admin, base)

    # Invite: a bad address first (the page says what to do and keeps what was typed).
    admin.get_by_role("link", name="Staff accounts").click()
    admin.get_by_label("Work email address").fill("not-an-address")
    admin.get_by_label("Name (optional)").fill("Dana Officer")
    admin.get_by_label("Role").select_option("privacy_officer")
    admin.evaluate("() => document.querySelector('#invite-email').type = 'text'")
    admin.get_by_role("button", name="Send invitation").click()
    assert "work email address" in admin.get_by_role("alert").inner_text()
    assert admin.get_by_label("Name (optional)").input_value() == "Dana Officer"
    assert admin.get_by_label("Role").input_value() == "privacy_officer"
    admin.get_by_label("Work email address").fill("dana@example.com")
    admin.get_by_role("button", name="Send invitation").click()
    shown = admin.locator("#invite-link").inner_text().strip()
    invitation = mailed_server.smtp.wait_for(1)[-1]
    assert invitation["To"] == "dana@example.com"
    mailed = re.search(r"(http://\S+/invite/\S+)", mail_text(invitation))
    assert mailed and mailed.group(1) == shown
    row = admin.locator('tr[data-user="dana@example.com"]')
    assert "invited" in row.inner_text()

    # The invited person chooses a password (mismatch first), then sets up two-factor.
    dana = new_page()
    dana.goto(shown)
    dana.get_by_label("Password", exact=True).fill("dana's long passphrase 1")
    dana.get_by_label("The same password again").fill("dana's long passphrase 2")
    dana.get_by_role("button", name="Set my password").click()
    assert "not the same" in dana.get_by_role("alert").inner_text()
    dana.get_by_label("Password", exact=True).fill("dana's long passphrase 1")
    dana.get_by_label("The same password again").fill("dana's long passphrase 1")
    dana.get_by_role("button", name="Set my password").click()
    assert "password is set" in dana.get_by_role("status").inner_text()
    dana.goto(shown)  # the link works once
    assert "not valid any more" in dana.get_by_role("alert").inner_text()
    _password_step(dana, base, "dana@example.com", "dana's long passphrase 1")
    _enroll(dana, base)

    # The administrator changes Dana's role, then disables the account: her session ends.
    admin.reload()
    row = admin.locator('tr[data-user="dana@example.com"]')
    assert "on" in row.locator("td").nth(3).inner_text()
    row.get_by_label("Role of dana@example.com", exact=True).select_option("agent")
    row.get_by_role("button", name="Change role of dana@example.com").click()
    row = admin.locator('tr[data-user="dana@example.com"]')
    assert "Agent" in row.inner_text()
    dana.goto(f"{base}/console/staff")
    assert dana.get_by_role("heading", level=1).inner_text() != "Staff accounts"  # 403 now
    row.get_by_role("button", name="Disable dana@example.com").click()
    assert "disabled" in admin.locator('tr[data-user="dana@example.com"]').inner_text()
    dana.goto(f"{base}/console")
    assert dana.url.endswith("/login")

    # The administrator cannot disable themselves (no button, and the server refuses too).
    assert "(you)" in admin.locator('tr[data-user="boss"]').inner_text()

    # Next sign-in asks for the code; a recovery code works once.
    admin.get_by_role("button", name="Sign out").click()
    _password_step(admin, base, "boss", admin_login.password)
    admin.wait_for_url(f"{base}/login/code")
    admin.get_by_label("Code").fill(codes[0])
    admin.get_by_role("button", name="Continue").click()
    admin.wait_for_url(f"{base}/console")
    admin.get_by_role("button", name="Sign out").click()
    _password_step(admin, base, "boss", admin_login.password)
    admin.get_by_label("Code").fill(codes[0])
    admin.get_by_role("button", name="Continue").click()
    assert "recovery codes" in admin.get_by_role("alert").inner_text()

    with runtime.db.session() as session:
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.organization_id == tenant.id)
            )
        )
    assert {
        "user.invited",
        "user.invite_accepted",
        "user.two_factor_enabled",
        "membership.role_changed",
        "user.disabled",
    } <= actions


def test_wrong_codes_lock_the_username(new_page: Any, mailed_server: MailedServer) -> None:
    runtime, base = mailed_server.runtime, mailed_server.url
    tenant: Tenant = make_tenant(runtime, "org-lock")
    login = add_staff(runtime, tenant, "officer", Role.PRIVACY_OFFICER)
    page = new_page()
    _password_step(page, base, "officer", login.password)
    secret, _ = _enroll(page, base)
    page.get_by_role("button", name="Sign out").click()
    _password_step(page, base, "officer", login.password)
    page.wait_for_url(f"{base}/login/code")
    good = pyotp.TOTP(secret).now()
    wrong = "123456" if good != "123456" else "654321"
    statuses = []
    for _ in range(10):
        response = page.expect_response(lambda r: r.url.endswith("/login/code"))
        with response as caught:
            page.get_by_label("Code").fill(wrong)
            page.get_by_role("button", name="Continue").click()
        statuses.append(caught.value.status)
    assert statuses == [401] * 10
    # Locked now: even the right code is refused, and the page says for how long.
    page.get_by_label("Code").fill(good)
    with page.expect_response(lambda r: r.url.endswith("/login/code")) as caught:
        page.get_by_role("button", name="Continue").click()
    assert caught.value.status == 429
    assert "locked" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/login/code")
