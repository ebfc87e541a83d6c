"""Issue 14, consent side, under each of the five example notices adopted in one installation
(one organization each), through the HTTP API: a one-click unsubscribe stops every list of the
sender (none of the five says its lists are independent), a GPC signal without a state is
honored and says so, an opt-out received by letter is recorded with that source, an SMS STOP
queues one confirmation, and `channel: "all"` is decided."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent import sms
from honorbound.notify.models import OutboxMessage
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, adopt_example, make_tenant
from tests.consent.conftest import number
from tests.support.people import person

NOTICES = sorted(path.stem for path in EXAMPLE_POLICIES.glob("*.yaml"))
OUR_NUMBER = "+12125550196"


@pytest.mark.parametrize("notice", NOTICES)
def test_consent_promises_under_each_notice(
    client: TestClient, runtime: Runtime, notice: str
) -> None:
    tenant = make_tenant(runtime, notice.split("-")[0])
    adopt_example(runtime, tenant.id, notice)
    api = tenant.headers(Role.CLIENT)

    def decide(items: list[dict[str, str]]) -> list[list[str]]:
        response = client.post("/v1/contact-decisions", json={"items": items}, headers=api)
        assert response.status_code == 200, response.text
        return [r["reasons"] for r in response.json()["results"]]

    # Unsubscribe from one list: every list of this sender stops.
    reader = person().email
    link = client.post(
        "/v1/consent/unsubscribe-links",
        json={"identity": reader, "list_id": "newsletter"},
        headers=api,
    ).json()
    path = link["url"].replace("http://testserver", "")
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    lists = [
        {"identity": reader, "purpose": "marketing", "channel": "email", "sender": s}
        for s in ("newsletter", "offers")
    ]
    assert decide(lists) == [["opted_out"], ["opted_out"]]

    # GPC without a state: recorded for the browser, and the answer says it was honored.
    ping = client.post(
        f"/v1/public/consent/{tenant.slug}/gpc",
        json={"cookie_id": f"cookie-{tenant.slug}-01"},
        headers={"Sec-GPC": "1"},
    ).json()
    assert ping["status"] == "Opt-out request honored"
    assert decide(
        [
            {
                "identity": f"cookie-{tenant.slug}-01",
                "kind": "cookie_id",
                "purpose": "sale",
                "channel": "all",
            }
        ]
    ) == [["opted_out"]]

    # A letter, recorded by an agent with its source.
    writer = person().phone
    letter = client.post(
        "/v1/consent/received-opt-outs",
        json={"identity": writer, "source": "letter", "purpose": "marketing"},
        headers=tenant.headers(Role.AGENT),
    )
    assert letter.status_code == 201 and letter.json()["source"] == "letter"
    assert decide([{"identity": writer, "purpose": "marketing", "channel": "email"}]) == [
        ["opted_out"]
    ]

    # An SMS STOP: one confirmation queued, none for the retried webhook.
    texter = number("212", 70 + NOTICES.index(notice))
    url = f"http://testserver/v1/public/sms/{tenant.slug}"
    form = {"From": texter, "To": OUR_NUMBER, "Body": "STOP", "MessageSid": f"SM-{tenant.slug}"}
    signed = sms.HmacUrlParams(sms.webhook_secret(runtime.keys, tenant.id)).expected(url, form)
    for _ in range(2):
        response = client.post(url, data=form, headers={"X-Twilio-Signature": signed})
        assert response.status_code == 200
    with runtime.db.session() as session:
        kinds = list(
            session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.organization_id == tenant.id)
            )
        )
    assert kinds == ["consent.sms.stop"]
