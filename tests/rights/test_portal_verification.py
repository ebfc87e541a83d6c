"""A request verified on the portal's own pages is carried out, for every type that needs
verification: submitted through the form, the link read from the mail the loopback SMTP server
received, confirmed on the link's page, then checked in the database (a different path from the
page that wrote it)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.jobs.models import Job
from honorbound.rights.models import RightsRequest, Status
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.rights.conftest import link_in, mails_to, seed
from tests.support.smtp import SmtpSink

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.mark.parametrize("kind", ["access_categories", "access_specific", "portability", "delete"])
def test_a_request_verified_on_the_portal_is_carried_out(
    kind: str, api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    someone = seed(rt, org.id)
    p = someone.person
    form = api.get(f"/p/{org.slug}/requests/new")
    sent = api.post(
        f"/p/{org.slug}/requests",
        data={
            "csrf_token": _csrf(form.text),
            "type": kind,
            "jurisdiction": "CA",
            "email": p.email,
            "confirmed": "yes",
        },
    )
    assert sent.status_code == 200, sent.text
    [ack] = mails_to(smtp, p.email)
    token = link_in(ack, "verify")

    page = api.get(f"/p/{org.slug}/requests/verify", params={"token": token})
    assert page.status_code == 200
    confirmed = api.post(
        f"/p/{org.slug}/requests/verify",
        data={
            "csrf_token": _csrf(page.text),
            "token": token,
            "phone": p.phone,
            "birth_date": p.birth_date,
            "typed_name": f"{p.first_name} {p.last_name}",
            "agreed": "yes",
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    assert 'id="verified"' in confirmed.text

    with rt.db.session() as session:
        row = session.scalars(
            select(RightsRequest).where(RightsRequest.organization_id == org.id)
        ).one()
        jobs = session.scalars(select(Job).where(Job.name == "rights.execute")).all()
    assert row.verified_at is not None
    assert row.status == Status.COMPLETED.value, row.status
    assert [j.status for j in jobs] == ["done"]
