"""Breach tests run the real app against a real SMTP server on loopback; people are seeded in
the vault through its own functions, each with fictional values (Faker)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from faker import Faker

from honorbound.audit import Actor
from honorbound.runtime import Runtime
from honorbound.vault.collection import Consent, NewInteraction, add_interaction, add_record
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Channel, Direction
from honorbound.vault.rules import current_rules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.people import ISSUED, remember

ACTOR = Actor("test", "system")


@pytest.fixture
def org(rt: Runtime) -> Tenant:
    tenant = make_tenant(rt, "callco")
    adopt_example(rt, tenant.id)
    return tenant


_fake = Faker("en_US")
_fake.seed_instance(2525)


@dataclass(frozen=True)
class Resident:
    subject_id: int
    state: str
    email: str | None
    street: str
    phone: str = ""


def resident(
    rt: Runtime,
    org_id: int,
    state: str | None,
    *,
    email: bool = True,
    ssn: bool = False,
    source: str = "web_form",
    collected_at: dt.datetime | None = dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    chat_at: dt.datetime | None = None,
) -> Resident:
    """A fictional person of `state` with an address record (from `source`), an email
    identity (unless `email=False`, then a phone), optionally an SSN and a chat."""
    while True:
        area = _fake.random_element(("212", "503", "512", "860", "415"))
        phone = f"+1{area}55501{_fake.random_int(10, 99)}"
        if phone not in ISSUED:
            break
    first, last = _fake.first_name(), _fake.last_name()
    address = f"{first}.{last}.{_fake.random_int(1000, 999999)}@example.com".lower()
    street = _fake.street_address()
    remember(address, phone, phone[2:], street)
    identities = [IdentityInput(IdentityKind.EMAIL, address)] if email else []
    identities.append(IdentityInput(IdentityKind.PHONE, phone))
    with rt.db.session() as session:
        rules = current_rules(session, org_id, rt.rules)
        assert rules is not None
        subject = upsert_subject(
            session, rt.vault_keys, org_id, identities, ACTOR, rules, subject_type="user",
            jurisdiction=state,
        ).subject  # fmt: skip
        rec = add_record(
            session, rt.vault_keys, org_id, subject.id, "user.contact.address", street,
            ["contracted-services"], source, ACTOR, rules,
        )  # fmt: skip
        if collected_at is not None:
            rec.collected_at = collected_at
        if ssn:
            number = f"9{phone[-4:]}{phone[-8:-4]}"
            remember(number)
            ssn_rec = add_record(
                session, rt.vault_keys, org_id, subject.id,
                "user.government_id.national_identification_number", number,
                ["sensitive-services"], source, ACTOR, rules,
                consent=Consent(True, {"form_id": "intake"}),
            )  # fmt: skip
            if collected_at is not None:
                ssn_rec.collected_at = collected_at
        if chat_at is not None:
            add_interaction(
                session, rt.vault_keys, org_id, subject.id,
                NewInteraction(Channel.CHAT, Direction.INBOUND, chat_at), ACTOR, rules,
            )  # fmt: skip
        subject_id = subject.id
    return Resident(subject_id, state or "", address if email else None, street, phone)


__all__ = ["Resident", "resident"]
