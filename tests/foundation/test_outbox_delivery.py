"""Mail delivery against a real SMTP server on loopback that is slow, drops the connection or
refuses: one Message-ID per outbox row on every attempt, the server's answer recorded with the
status, a worker killed mid-send resending the same message, and no request waiting for the
mail server (sending happens in the worker, outside any transaction)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faker import Faker
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.config import Settings
from honorbound.db.engine import is_contention
from honorbound.notify import outbox
from honorbound.notify.models import Channel, OutboxMessage, OutboxStatus
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant
from tests.support.live import lock_held_by_another_process
from tests.support.people import person, remember
from tests.support.smtp import SmtpSink, free_port

fake = Faker()
Faker.seed(17)


def _recipient() -> str:
    address = fake.email()
    remember(address)
    return address


def _put(rt: Runtime, tenant: Tenant, recipient: str, jobs: bool = False) -> int:
    with rt.db.session() as session:
        row = outbox.put(
            session,
            rt.keys,
            rt.jobs if jobs else None,
            tenant.id,
            Channel.EMAIL,
            "test.hello",
            recipient,
            "Hello from the outbox.",
            "Greetings",
        )
        return row.id


def _row(rt: Runtime, message_id: int) -> OutboxMessage:
    with rt.db.read_session() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
        assert row is not None
        return row


@pytest.fixture
def mail_runtime(settings: Settings, smtp: SmtpSink) -> Iterator[Runtime]:
    rt = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}), immediate_jobs=True)
    yield rt
    rt.close()


def test_a_dropped_answer_is_sent_again_with_the_same_message_id(
    mail_runtime: Runtime, smtp: SmtpSink, tenant: Tenant
) -> None:
    rt = mail_runtime
    smtp.script((0, "drop"))  # the server takes the message, the answer never arrives
    message_id = _put(rt, tenant, _recipient())
    with pytest.raises(outbox.DeliveryDeferred):
        outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id)
    first = _row(rt, message_id)
    assert first.status == OutboxStatus.PENDING
    assert "no answer" in first.outcome and first.message_id
    assert outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id) == "sent"
    after = _row(rt, message_id)
    copies = smtp.wait_for(2)
    assert len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"] == first.message_id
    assert after.outcome == "250 Message accepted for delivery"
    assert after.attempts == 2 and after.sent_at is not None and after.attempt_by == ""
    # Sent is final: a third run sends nothing.
    assert outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id) == "sent"
    assert len(smtp.messages) == 2


def test_a_refusal_is_recorded_without_the_address_and_not_retried(
    mail_runtime: Runtime, smtp: SmtpSink, tenant: Tenant
) -> None:
    rt = mail_runtime
    recipient = _recipient()
    smtp.script((0, f"550 5.1.1 <{recipient}>: mailbox unavailable"))
    message_id = _put(rt, tenant, recipient)
    assert outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id) == "failed"
    row = _row(rt, message_id)
    assert row.status == OutboxStatus.FAILED
    assert row.outcome == "550 5.1.1 <<recipient>>: mailbox unavailable"
    assert recipient not in row.outcome + row.note
    assert outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id) == "failed"
    assert len(smtp.messages) == 1


def test_a_temporary_refusal_is_tried_again(
    mail_runtime: Runtime, smtp: SmtpSink, tenant: Tenant
) -> None:
    rt = mail_runtime
    smtp.script((0, "451 4.3.0 try again later"))
    message_id = _put(rt, tenant, _recipient())
    with pytest.raises(outbox.DeliveryDeferred, match="451"):
        outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id)
    assert _row(rt, message_id).status == OutboxStatus.PENDING
    assert outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id) == "sent"
    assert smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]


class _Killed(BaseException):
    """Stands for the worker process dying at that point (nothing after it runs)."""


class _DiesBeforeShredding:
    """The real key store, except that the worker dies the first time it would destroy a key:
    after the message was recorded as sent, before its own key is gone."""

    def __init__(self, store: outbox.DataKeys) -> None:
        self.store = store
        self.died = False

    def data_key(self, organization_id: int, key_id: str) -> bytes:
        return self.store.data_key(organization_id, key_id)

    def create_data_key(self, organization_id: int, key_id: str) -> bytes:
        return self.store.create_data_key(organization_id, key_id)

    def destroy_data_keys(
        self, organization_id: int, key_ids: list[str], journal: bool = True
    ) -> int:
        if not self.died:
            self.died = True
            raise _Killed
        return self.store.destroy_data_keys(organization_id, key_ids, journal)


def test_a_message_key_left_by_a_crash_after_sending_is_destroyed_by_the_rerun(
    mail_runtime: Runtime, smtp: SmtpSink, tenant: Tenant
) -> None:
    """The last message to someone already erased has a key of its own, destroyed once it is
    sent. A worker dying between recording "sent" and destroying the key must not leave the
    message readable for good: the job's rerun destroys the key and sends nothing again."""
    rt = mail_runtime
    with rt.db.session() as session:
        own = outbox.person_key(rt.vault_keys, tenant.id, None)
        row = outbox.put(
            session,
            rt.keys,
            None,
            tenant.id,
            Channel.EMAIL,
            "test.goodbye",
            _recipient(),
            "We deleted what we held about you.",
            "Done",
            sealed_for=own,
        )
        message_id = row.id
    assert own.ephemeral and rt.vault_keys.has_data_key(tenant.id, own.key_id)
    with pytest.raises(_Killed):
        outbox.deliver(
            rt.db.session,
            rt.keys,
            rt.transports,
            message_id,
            data_keys=_DiesBeforeShredding(rt.vault_keys),
        )
    assert _row(rt, message_id).status == OutboxStatus.SENT
    assert rt.vault_keys.has_data_key(tenant.id, own.key_id)  # what the crash left behind
    again = outbox.deliver(
        rt.db.session, rt.keys, rt.transports, message_id, data_keys=rt.vault_keys
    )
    assert again == "sent"
    assert not rt.vault_keys.has_data_key(tenant.id, own.key_id)
    with pytest.raises(outbox.MessageErased):
        outbox.unseal(rt.keys, _row(rt, message_id), rt.vault_keys)
    assert len(smtp.messages) == 1  # sent once


@pytest.mark.timeout(120)
def test_an_answer_that_cannot_be_written_down_is_written_by_the_retry_not_sent_again(
    settings: Settings, smtp: SmtpSink, tenant: Tenant, database_url: str
) -> None:
    """The server took the message, but recording that fails: another process holds the lock
    the record needs (SQLite's write lock; PostgreSQL's audit-chain lock) past every try. The
    job's retry in the same worker records the answer it already has: no second copy, and no
    wait for the lease to run out."""
    rt = build_runtime(
        settings.model_copy(update={"smtp_url": smtp.url, "db_lock_timeout": 0.5}),
        immediate_jobs=True,
    )
    try:
        smtp.script((3.0, "ok"))  # time enough to take the lock before the answer comes
        message_id = _put(rt, tenant, _recipient())
        failures: list[BaseException] = []

        def first_attempt() -> None:
            try:
                outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id)
            except BaseException as exc:
                failures.append(exc)

        worker = threading.Thread(target=first_attempt)
        worker.start()
        assert smtp.handler.in_data.wait(30)  # claimed (committed) and in DATA
        with lock_held_by_another_process(database_url, tenant.id):
            worker.join(60)
            assert not worker.is_alive()
            assert len(failures) == 1 and is_contention(failures[0]), failures
            assert _row(rt, message_id).status == OutboxStatus.SENDING
        assert outbox.deliver(rt.db.session, rt.keys, rt.transports, message_id) == "sent"
        row = _row(rt, message_id)
        assert row.outcome == "250 Message accepted for delivery" and row.attempts == 1
        assert row.sent_at is not None and row.attempt_by == ""
        time.sleep(0.5)
        assert len(smtp.messages) == 1
    finally:
        rt.close()


# -- real processes -------------------------------------------------------------------------
def _env(settings: Settings, smtp: SmtpSink) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    env.update(
        {
            "HONORBOUND_DATA_DIR": str(settings.data_dir),
            "HONORBOUND_DATABASE_URL": settings.database_url,
            "HONORBOUND_KEYSTORE_URL": settings.keystore_url,
            "HONORBOUND_MASTER_KEY": settings.master_key,
            "HONORBOUND_SMTP_URL": smtp.url,
            "HONORBOUND_JOB_LEASE_SECONDS": "60",
            "HONORBOUND_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "honorbound", "worker", "--threads", "1"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.timeout(240)
def test_a_worker_killed_mid_send_resends_the_same_message_id(
    settings: Settings, smtp: SmtpSink, tenant: Tenant, tmp_path: Path
) -> None:
    env = _env(settings, smtp)
    queueing = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}))
    smtp.script((120, "ok"))  # the first attempt hangs in DATA until the worker is killed
    message_id = _put(queueing, tenant, _recipient(), jobs=True)
    first = _worker(env, tmp_path / "worker1.log")
    try:
        _wait(lambda: len(smtp.messages) == 1, 90, "the first attempt to reach the server")
        assert _row(queueing, message_id).status != "sent"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    second = _worker(env, tmp_path / "worker2.log")
    try:
        _wait(
            lambda: _row(queueing, message_id).status == OutboxStatus.SENT,
            120,
            "the resend after the crash",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
    assert len(smtp.messages) == 2
    assert smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]
    row = _row(queueing, message_id)
    assert smtp.messages[0]["Message-ID"] == row.message_id
    assert row.outcome.startswith("250 ") and row.attempts == 2
    queueing.close()


@pytest.mark.timeout(240)
def test_a_slow_mail_server_does_not_hold_up_requests(
    settings: Settings, smtp: SmtpSink, tenant: Tenant, tmp_path: Path
) -> None:
    """While the worker waits 8 s for the mail server's answer, a consent write through the
    real server (another process) is answered: no transaction is open across the send."""
    env = _env(settings, smtp)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "honorbound", "serve", "--port", str(port)],
        env=env,
        stdout=(tmp_path / "serve.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    queueing = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _up(base), 60, "the server")
        smtp.script((8, "ok"))
        message_id = _put(queueing, tenant, _recipient(), jobs=True)
        _wait(smtp.handler.in_data.is_set, 90, "the worker to reach the mail server")
        started = time.monotonic()
        answer = httpx.post(
            f"{base}/v1/consent/events",
            json={
                "identity": person().email,
                "purpose": "marketing",
                "channel": "email",
                "action": "opt_out",
                "source": "web_form",
            },
            headers=tenant.headers(Role.AGENT),
            timeout=30,
        )
        waited = time.monotonic() - started
        assert answer.status_code == 201, answer.text
        assert not smtp.handler.answered.is_set(), (
            f"the write was answered only after the mail server ({waited:.1f} s)"
        )
        _wait(lambda: _row(queueing, message_id).status == OutboxStatus.SENT, 60, "the send")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        queueing.close()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
