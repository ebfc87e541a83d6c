from __future__ import annotations

from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts.roles import Role
from honorbound.config import Settings
from honorbound.notify.models import Channel, OutboxStatus
from honorbound.notify.outbox import put
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.support.smtp import SmtpSink

fake = Faker()
Faker.seed(2)


def test_mail_reaches_a_real_smtp_server(
    settings: Settings, smtp: SmtpSink, tenant: Tenant
) -> None:
    rt = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}), immediate_jobs=True)
    recipient = fake.email()
    with rt.db.session() as session:
        put(
            session,
            rt.keys,
            rt.jobs,
            tenant.id,
            Channel.EMAIL,
            "test.hello",
            recipient,
            "Hello from the outbox.",
            "Greetings",
            headers={"List-Unsubscribe": "<https://example.test/u/abc>"},
        )
    messages = smtp.wait_for(1)
    assert len(messages) == 1
    assert messages[0]["To"] == recipient
    assert messages[0]["Subject"] == "Greetings"
    assert messages[0]["List-Unsubscribe"] == "<https://example.test/u/abc>"
    assert "Hello from the outbox." in messages[0].get_content()
    with rt.db.session() as session:
        status = session.execute(text("SELECT status FROM outbox")).scalar_one()
    assert status == OutboxStatus.SENT
    rt.close()


def test_without_smtp_mail_stays_in_outbox_sealed(
    runtime: Runtime, tenant: Tenant, client: TestClient
) -> None:
    recipient = fake.email()
    with runtime.db.session() as session:
        put(
            session,
            runtime.keys,
            runtime.jobs,
            tenant.id,
            Channel.EMAIL,
            "test.hello",
            recipient,
            "Body text",
            "Subject line",
        )
    with runtime.db.session() as session:
        row = session.execute(text("SELECT status, note, recipient_sealed FROM outbox")).one()
    assert row.status == OutboxStatus.PENDING
    assert "no email transport" in row.note
    assert recipient.encode() not in bytes(row.recipient_sealed)
    listed = client.get("/v1/outbox", headers=tenant.headers(Role.PRIVACY_OFFICER)).json()
    assert listed[0]["status"] == "pending"
    detail = client.get(
        f"/v1/outbox/{listed[0]['id']}", headers=tenant.headers(Role.PRIVACY_OFFICER)
    ).json()
    assert detail["recipient"] == recipient and detail["body"] == "Body text"


def test_pending_mail_is_flushed_once_smtp_is_configured(
    settings: Settings, smtp: SmtpSink, runtime: Runtime, tenant: Tenant
) -> None:
    with runtime.db.session() as session:
        put(
            session,
            runtime.keys,
            runtime.jobs,
            tenant.id,
            Channel.EMAIL,
            "test",
            fake.email(),
            "queued while mail was off",
            "Held",
        )
    rt = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}), immediate_jobs=True)
    with rt.db.session() as session:
        rt.jobs.enqueue(session, "outbox.flush")
    assert len(smtp.wait_for(1)) == 1
    rt.close()


def test_unreachable_smtp_keeps_message_and_retries(settings: Settings, tenant: Tenant) -> None:
    from tests.support.smtp import free_port

    rt = build_runtime(
        settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"}),
        immediate_jobs=True,
    )
    with rt.db.session() as session:
        put(session, rt.keys, rt.jobs, tenant.id, Channel.EMAIL, "test", fake.email(), "b", "s")
    with rt.db.session() as session:
        outbox = session.execute(text("SELECT status FROM outbox")).scalar_one()
        job = session.execute(
            text("SELECT status, attempts, last_error FROM jobs WHERE name='outbox.deliver'")
        ).one()
    assert outbox == OutboxStatus.PENDING
    assert job.status == "queued" and job.attempts == 1
    assert "ConnectionRefusedError" in job.last_error
    rt.close()
