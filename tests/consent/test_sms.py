"""The SMS webhook through the real app: keywords, replies in the outbox, dedupe, signatures."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.consent import sms
from honorbound.consent.models import ConsentEvent
from honorbound.notify.models import OutboxMessage
from honorbound.notify.outbox import unseal
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, number, reasons, record

OUR_NUMBER = "+12125550199"
OTHER_SENDER = "+12125550198"
NOON_NY = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)


def post(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    body: str,
    sender: str,
    message_id: str,
    to: str = OUR_NUMBER,
    sign: bool = True,
) -> dict:  # type: ignore[type-arg]
    url = f"http://testserver/v1/public/sms/{tenant.slug}"
    form = {"From": sender, "To": to, "Body": body, "MessageSid": message_id}
    check = sms.HmacUrlParams(sms.webhook_secret(runtime.keys, tenant.id))
    headers = {"X-Twilio-Signature": check.expected(url, form) if sign else "bm9wZQ=="}
    response = client.post(url, data=form, headers=headers)
    return {"status": response.status_code, **(response.json() if response.content else {})}


def outbox_rows(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.db.session() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    return rows


def event_count(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def test_stop_opts_out_of_that_sender_and_confirms_once(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 30)
    record(runtime, tenant.id, phone, "marketing", "sms", action="opt_in")
    out = post(client, runtime, tenant, "  Stop. ", phone, "SM0001")
    assert out == {"status": 200, "kind": "stop", "duplicate": False}
    rows = outbox_rows(runtime)
    assert len(rows) == 1 and rows[0].channel == "sms" and rows[0].kind == "consent.sms.stop"
    message = unseal(runtime.keys, rows[0])
    assert message.recipient == phone
    assert "unsubscribed" in message.body and "Reply START" in message.body
    assert "offer" not in message.body.lower()
    ours = decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY, senders=[OUR_NUMBER])
    assert reasons(ours) == [("opted_out",)]
    other = decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY, senders=[OTHER_SENDER])
    assert other.allowed[0]
    # Without a sender named, any sender's opt-out blocks (the conservative answer).
    assert not decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY).allowed[0]


def test_repeated_message_id_changes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 31)
    assert post(client, runtime, tenant, "STOP", phone, "SM0002")["duplicate"] is False
    before = (event_count(runtime), len(outbox_rows(runtime)))
    again = post(client, runtime, tenant, "STOP", phone, "SM0002")
    assert again == {"status": 200, "kind": "stop", "duplicate": True}
    # Even a different body under the same id is the same message.
    assert post(client, runtime, tenant, "START", phone, "SM0002")["duplicate"] is True
    assert (event_count(runtime), len(outbox_rows(runtime))) == before


def test_bad_signature_is_rejected_and_writes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 32)
    assert post(client, runtime, tenant, "STOP", phone, "SM0003", sign=False)["status"] == 403
    url = f"http://testserver/v1/public/sms/{tenant.slug}"
    assert (
        client.post(
            url, data={"From": phone, "To": OUR_NUMBER, "Body": "STOP", "MessageSid": "SM0003"}
        ).status_code
        == 403
    )
    assert event_count(runtime) == 0 and outbox_rows(runtime) == []
    # A signature made for another organization does not work here either.
    form = {"From": phone, "To": OUR_NUMBER, "Body": "STOP", "MessageSid": "SM0003"}
    wrong = sms.HmacUrlParams(sms.webhook_secret(runtime.keys, tenant.id + 1)).expected(url, form)
    assert client.post(url, data=form, headers={"X-Twilio-Signature": wrong}).status_code == 403


def test_start_resubscribes_and_stopall_covers_every_sender(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 33)
    post(client, runtime, tenant, "STOP", phone, "SM0010")
    assert post(client, runtime, tenant, "unstop", phone, "SM0011")["kind"] == "start"
    ours = decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY, senders=[OUR_NUMBER])
    assert ours.allowed[0]
    assert post(client, runtime, tenant, "stop all", phone, "SM0012")["kind"] == "stop_all"
    other = decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY, senders=[OTHER_SENDER])
    assert reasons(other) == [("opted_out",)]
    kinds = [r.kind for r in outbox_rows(runtime)]
    assert kinds == ["consent.sms.stop", "consent.sms.start", "consent.sms.stop_all"]


def test_spanish_and_misspelled_stop_through_the_webhook(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    for i, body in enumerate(["No más", "ALTO!", "parar", "stpo", "unsuscribe"]):
        phone = number("312", 40 + i)
        assert post(client, runtime, tenant, body, phone, f"SM-es-{i}")["kind"] == "stop", body
        assert not decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY).allowed[0]


def test_help_gets_program_facts_and_records_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 34)
    assert post(client, runtime, tenant, "help", phone, "SM0020")["kind"] == "help"
    body = unseal(runtime.keys, outbox_rows(runtime)[0]).body
    assert f"Org {tenant.slug}" in body  # program name
    assert "Msg & data rates may apply" in body and "STOP" in body
    assert runtime.settings.mail_from in body and "frequency" in body.lower()
    assert event_count(runtime) == 0


def test_other_text_records_nothing_and_sends_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    out = post(client, runtime, tenant, "what time do you open?", number("212", 35), "SM0030")
    assert out["kind"] == "other"
    assert event_count(runtime) == 0 and outbox_rows(runtime) == []


def test_malformed_webhook_names_the_field(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    url = f"http://testserver/v1/public/sms/{tenant.slug}"
    check = sms.HmacUrlParams(sms.webhook_secret(runtime.keys, tenant.id))
    for form, field in (
        ({"To": OUR_NUMBER, "Body": "STOP", "MessageSid": "SM1"}, "From"),
        ({"From": number("212", 36), "To": OUR_NUMBER, "Body": "STOP"}, "MessageSid"),
        ({"From": "hello", "To": OUR_NUMBER, "Body": "STOP", "MessageSid": "SM2"}, "From/To"),
    ):
        response = client.post(
            url, data=form, headers={"X-Twilio-Signature": check.expected(url, form)}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert event_count(runtime) == 0
    assert client.post("/v1/public/sms/no-such-org", data={}).status_code == 404


def test_free_text_revocation_found_by_the_detection_engine(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 37)
    out = post(client, runtime, tenant, "Please don't text me anymore, thanks", phone, "SM0040")
    assert out["kind"] == "revocation"
    assert reasons(decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY)) == [
        ("opted_out",)
    ]
    assert [r.kind for r in outbox_rows(runtime)] == ["consent.sms.revocation"]


def test_sender_is_matched_however_the_dialer_writes_it(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("212", 38)
    post(client, runtime, tenant, "STOP", phone, "SM0050")
    for spelling in (OUR_NUMBER, OUR_NUMBER[2:], "(212) 555-0199", "1-212-555-0199"):
        result = decide(
            runtime, tenant.id, [phone], "marketing", "sms", NOON_NY, senders=[spelling]
        )
        assert reasons(result) == [("opted_out",)], spelling
    from honorbound.consent import service

    service.engine(runtime.keys).invalidate(tenant.id)  # the same from a fresh snapshot
    result = decide(
        runtime, tenant.id, [phone], "marketing", "sms", NOON_NY, senders=["2125550199"]
    )
    assert reasons(result) == [("opted_out",)]


def test_a_spanish_keyword_gets_the_spanish_reply(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """PARA, ALTO, CANCELAR opt out and are confirmed in Spanish; AYUDA gets the Spanish help
    (the program's facts in it); HELP and STOP stay English. Wording written out here."""
    for i, body in enumerate(["PARA", "alto", "Cancelar."]):
        phone = number("305", 60 + i)
        assert post(client, runtime, tenant, body, phone, f"SM-esr-{i}")["kind"] == "stop", body
        reply = unseal(runtime.keys, outbox_rows(runtime)[-1]).body
        assert "canceló su suscripción y no recibirá más mensajes" in reply, body
        assert "unsubscribed" not in reply
        assert not decide(runtime, tenant.id, [phone], "marketing", "sms", NOON_NY).allowed[0]
    phone = number("305", 70)
    assert post(client, runtime, tenant, "ayuda", phone, "SM-esr-help")["kind"] == "help"
    reply = unseal(runtime.keys, outbox_rows(runtime)[-1]).body
    assert reply.startswith(f"Org {tenant.slug}: La frecuencia de los mensajes varía.")
    assert "Pueden aplicarse tarifas" in reply and runtime.settings.mail_from in reply
    assert "Responda PARA" in reply
    assert post(client, runtime, tenant, "HELP", number("305", 71), "SM-en-help")["kind"] == "help"
    assert "Msg & data rates may apply" in unseal(runtime.keys, outbox_rows(runtime)[-1]).body
    assert post(client, runtime, tenant, "STOP", number("305", 72), "SM-en-stop")["kind"] == "stop"
    assert "unsubscribed" in unseal(runtime.keys, outbox_rows(runtime)[-1]).body
