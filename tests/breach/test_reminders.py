"""The hourly reminder job mails the privacy contact once a day per incident with duties due
within 72 hours, through the outbox and the real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.breach.reminders import REMIND_JOB
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant
from tests.support.smtp import SmtpSink


def test_reminder_once_a_day(rt: Runtime, org: Tenant, api: TestClient, smtp: SmtpSink) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    resident(rt, org.id, "OR")
    discovered = dt.datetime.now(dt.UTC) - dt.timedelta(days=9)
    iid = api.post(
        "/v1/breach/incidents",
        headers=h,
        json={"title": "Vendor breach", "discovered_at": discovered.isoformat(),
              "owner": "Privacy Office", "clients": ["client-a"]},
    ).json()["id"]  # fmt: skip
    assert api.post(f"/v1/breach/incidents/{iid}/selection", headers=h,
                    json={"systems": ["crm"]}).status_code == 200  # fmt: skip
    for _ in range(2):
        with rt.db.session() as session:
            rt.jobs.enqueue(session, REMIND_JOB)
    mails = smtp.wait_for(1)
    assert len(mails) == 1
    mail = mails[0]
    assert str(mail["To"]) == "info@contact-center1.com"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # OR: the processor tells its client within 10 days; the 45-day notice is not due soon.
    assert "client-a (OR)" in text and "residents of OR" not in text
