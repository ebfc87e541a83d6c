"""Synthetic people for tests (Faker, fixed seed). Every value handed out is remembered so the
session-end check can prove none of it reached the log."""

from __future__ import annotations

from dataclasses import dataclass

from faker import Faker

_fake = Faker("en_US")
_fake.seed_instance(20261122)
ISSUED: set[str] = set()


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    street: str
    birth_date: str


def person() -> Person:
    first, last = _fake.first_name(), _fake.last_name()
    # Unique local parts keep tests independent; 555-01xx numbers are reserved for fiction.
    email = f"{first}.{last}.{_fake.unique.random_int(1000, 999999)}@{_fake.free_email_domain()}"
    phone = f"+1{_fake.random_element(['212', '312', '415', '512', '617', '702', '808'])}555" \
        f"01{_fake.unique.random_int(10, 99)}"
    p = Person(first, last, email.lower(), phone, _fake.street_address(),
               _fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat())
    ISSUED.update({p.email, p.phone, p.phone[2:], p.street})
    return p


def remember(*values: str) -> None:
    """Register personal values a test made up itself."""
    ISSUED.update(v for v in values if v)
