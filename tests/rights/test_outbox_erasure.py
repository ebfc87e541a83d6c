"""Mail about a person is erased with the person: what the outbox keeps of an erased person
cannot be opened with the master key (checked by trying the master-derived outbox key directly,
not through the outbox module), the deletion confirmation still goes out, and a message still
pending when its person is erased is never sent."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.audit import Actor
from honorbound.crypto.aead import DecryptionError, open_sealed
from honorbound.notify.models import OutboxMessage
from honorbound.notify.outbox import MessageErased, deliver, unseal
from honorbound.runtime import Runtime
from honorbound.vault import erasure
from honorbound.vault.models import Subject
from tests.conftest import Tenant
from tests.rights.conftest import body, link_in, mails_to, public, seed
from tests.support.smtp import SmtpSink


def _opens_with_master_key(rt: Runtime, row: OutboxMessage) -> bool:
    """Every way the master key alone could open an outbox row (the organization's derived
    outbox key, under either associated-data form)."""
    key = rt.keys.derived(f"org:{row.organization_id}:outbox")
    for aad in (f"outbox:{row.organization_id}", f"outbox:{row.organization_id}:{row.key_id}"):
        try:
            open_sealed(key, row.recipient_sealed, aad.encode())
            return True
        except DecryptionError:
            continue
    return False


def test_mail_about_an_erased_person_cannot_be_read(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    someone = seed(rt, org.id)
    p = someone.person
    sent = api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    assert sent.status_code == 202
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert done.json()["verified"] is True
    # The confirmation of the deletion reached the person.
    assert "We deleted the personal information" in body(mails_to(smtp, p.email, 2)[1])

    with rt.db.session() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        subject = session.get(Subject, someone.subject_id)
        assert subject is not None and subject.status == "erased"
    about_them = [r for r in rows if r.subject_ref.startswith("rights_request:")]
    assert len(about_them) >= 2 and all(r.status == "sent" for r in about_them)
    for row in about_them:
        assert row.key_id, row.kind  # sealed under a person's key, not the organization's
        assert not _opens_with_master_key(rt, row), row.kind
        try:
            unseal(rt.keys, row, rt.vault_keys)
        except MessageErased:
            continue
        raise AssertionError(f"{row.kind} still opens after the erasure")
    assert p.email.encode() not in b"".join(r.recipient_sealed + r.content_sealed for r in rows)
    answer = api.get(f"/v1/outbox/{about_them[0].id}", headers=org.headers())
    assert answer.status_code == 410


def test_a_message_pending_when_its_person_is_erased_is_never_sent(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    someone = seed(rt, org.id)
    p = someone.person
    transports, rt.transports = rt.transports, {}  # mail cannot go out for now
    assert (
        api.post(
            public(org), json={"type": "access_specific", "jurisdiction": "CA", "email": p.email}
        ).status_code
        == 202
    )
    with rt.db.session() as session:
        [row] = session.scalars(select(OutboxMessage)).all()
        assert row.status == "pending" and row.key_id
        row_id = row.id
        erasure.erase_subject(
            session, rt.vault_keys, org.id, someone.subject_id, Actor.system(), "test"
        )
    rt.transports = transports
    assert deliver(rt.db.session, rt.keys, rt.transports, row_id, data_keys=rt.vault_keys) == (
        "erased"
    )
    assert mails_to(smtp, p.email) == []
