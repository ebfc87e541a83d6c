"""Synthetic people for the demo organization: identities, a record and a chat each.

Everything here is generated with Faker from a fixed seed: no real person's data. The values go
through the same vault functions as the API (collection rules of the adopted declaration,
detection and redaction of the transcript, envelope encryption).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import phonenumbers
from faker import Faker
from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.vault.collection import NewInteraction, add_interaction, add_record
from honorbound.vault.identities import IdentityKind
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import Channel, Direction
from honorbound.vault.rules import CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject

STATES = ("CA", "TX", "FL", "NY", "VA", "CO", "WA", "IL", "GA", "OH")
# Contact Center 1's notice declares chat logs ("contents of messages") but not call transcripts,
# so the demo conversations are chats.
CALL_OPENINGS = (
    "Agent: Thank you for contacting us, my name is {agent}, how can I help?\n"
    "Caller: Hi, this is {name}, I need help with my benefits claim.\n",
    "Agent: Contact center, this is {agent} speaking.\n"
    "Caller: Hello, {name} here, I want to update my card on file.\n",
)
CALL_BODIES = (
    "Caller: The card is {card_spoken}, expiry {expiry}.\nAgent: Thank you, I have updated it.\n",
    "Caller: My phone is {phone} and my email is {email}.\n"
    "Agent: Got it, I have noted your details.\n",
    "Caller: Please stop calling me about offers.\n"
    "Agent: Understood, I will record that request.\n",
)
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class DemoPerson:
    email: str
    phone: str
    name: str
    birth_date: dt.date
    jurisdiction: str = "CA"


# The one demo consumer `honorbound demo` prints, to walk the portal's journeys with: a
# reserved domain (RFC 2606) and a fictional 555-01xx number, so nobody real is reached. Like
# every demo person they hold three matching details (email, phone, birth date): enough for a
# copy of their data, with the signed declaration.
TRY_IT = DemoPerson(
    "jordan.demo@example.com", "+14155550143", "Jordan Demo", dt.date(1984, 5, 17), "CA"
)


def _spoken(number: str) -> str:
    return " ".join(_DIGITS[int(d)] for d in number)


def _phone(fake: Faker) -> str:
    while True:
        candidate = "+1" + fake.numerify("2%#555%###")
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def people(count: int, seed: int = 2024) -> list[DemoPerson]:
    """The demo people, the same for the same seed (tests use this to look for leaks)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = []
    for index in range(count):
        name = fake.name()
        email = f"{fake.user_name()}.{index}@{fake.free_email_domain()}"
        phone = _phone(fake)
        born = fake.date_of_birth(minimum_age=21, maximum_age=85)
        out.append(DemoPerson(email, phone, name, born))
    return out


def _first_purpose(rules: CollectionRules, category: str) -> str | None:
    declared = rules.category(category)
    if declared is None or not declared.purposes:
        return None
    return sorted(declared.purposes)[0]


def load_subjects(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    rules: CollectionRules,
    count: int,
    seed: int = 2024,
) -> int:
    """Create `count` synthetic subjects (and TRY_IT first) with a birth date, a contact record
    and one chat each."""
    actor = Actor("cli:demo", "system")
    fake = Faker("en_US")
    fake.seed_instance(seed + 1)
    rng = random.Random(seed)
    subject_type = sorted(rules.subject_types)[0] if rules.subject_types else "customer"
    if "user" in rules.subject_types:
        subject_type = "user"
    contact_purpose = _first_purpose(rules, "user.contact.email")
    now = dt.datetime.now(dt.UTC)
    for index, person in enumerate([TRY_IT, *people(count, seed)]):
        upserted = upsert_subject(
            session,
            keys,
            organization_id,
            [
                IdentityInput(IdentityKind.EMAIL, person.email),
                IdentityInput(IdentityKind.PHONE, person.phone),
            ],
            actor,
            rules,
            subject_type=subject_type,
            jurisdiction=person.jurisdiction if index == 0 else rng.choice(STATES),
            birth_date=person.birth_date,
        )
        subject_id = upserted.subject.id
        if contact_purpose is not None:
            add_record(
                session,
                keys,
                organization_id,
                subject_id,
                "user.contact.email",
                person.email,
                [contact_purpose],
                "directly",
                actor,
                rules,
            )
        started = now - dt.timedelta(days=rng.randint(0, 720), minutes=rng.randint(0, 1440))
        text = rng.choice(CALL_OPENINGS) + rng.choice(CALL_BODIES)
        text = text.format(
            agent=fake.first_name(),
            name=person.name,
            card_spoken=_spoken(fake.credit_card_number(card_type="visa16")),
            expiry=fake.credit_card_expire(),
            phone=person.phone,
            email=person.email,
        )
        add_interaction(
            session,
            keys,
            organization_id,
            subject_id,
            NewInteraction(
                Channel.CHAT,
                Direction.INBOUND,
                started,
                started + dt.timedelta(minutes=rng.randint(2, 25)),
                agent="agent",
                text=text,
            ),
            actor,
            rules,
        )
    return count + 1
