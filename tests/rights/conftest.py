"""Rights tests run the real app with a real SMTP server on loopback: the consumer's links are
read from the mail that server received."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from faker import Faker
from fastapi.testclient import TestClient

from honorbound.audit import Actor
from honorbound.consent.models import Action
from honorbound.rights.context import Services
from honorbound.rights.jobs import services
from honorbound.runtime import Runtime
from honorbound.vault.collection import Consent, add_record
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import current_rules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.people import ISSUED, Person, remember
from tests.support.smtp import SmtpSink

ACTOR = Actor("test", "system")
LINK = re.compile(r"(http://testserver/p/[a-z0-9-]+/requests/(\w+)\?token=(\S+))")


@pytest.fixture
def org(rt: Runtime) -> Tenant:
    tenant = make_tenant(rt, "acme")
    adopt_example(rt, tenant.id)
    return tenant


@pytest.fixture
def svc(rt: Runtime) -> Services:
    return services(rt)


_fake = Faker("en_US")
_fake.seed_instance(7107)
_AREAS = ("212", "312", "415", "512", "617", "702", "808")


def somebody() -> Person:
    """A synthetic person, like `tests.support.people.person()` (values remembered for the log
    check), drawn from this package's own Faker so these tests do not use up the shared pool
    of 90 unique fictional phone numbers the other packages' tests draw from."""
    while True:
        phone = f"+1{_fake.random_element(_AREAS)}55501{_fake.random_int(10, 99)}"
        if phone not in ISSUED:
            break
    first, last = _fake.first_name(), _fake.last_name()
    email = f"{first}.{last}.{_fake.random_int(1000, 999999)}@example.com".lower()
    born = _fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat()
    p = Person(first, last, email, phone, _fake.street_address(), born)
    remember(p.email, p.phone, p.phone[2:], p.street)
    return p


@dataclass(frozen=True)
class Seeded:
    person: Person
    subject_id: int
    ssn: str


def seed(rt: Runtime, org_id: int, *, sensitive: bool = False, jurisdiction: str = "CA") -> Seeded:
    """A subject with an email, a phone, a birth date, an address and (optionally) an SSN."""
    p = somebody()
    ssn = f"9{p.phone[-4:]}{p.phone[-8:-4]}"
    remember(ssn)
    with rt.db.session() as session:
        rules = current_rules(session, org_id, rt.rules)
        assert rules is not None
        subject = upsert_subject(
            session,
            rt.vault_keys,
            org_id,
            [
                IdentityInput(IdentityKind.EMAIL, p.email),
                IdentityInput(IdentityKind.PHONE, p.phone),
            ],
            ACTOR,
            rules,
            subject_type="user",
            jurisdiction=jurisdiction,
            birth_date=dt.date.fromisoformat(p.birth_date),
        ).subject
        add_record(
            session,
            rt.vault_keys,
            org_id,
            subject.id,
            "user.contact.address",
            p.street,
            ["contracted-services"],
            "directly",
            ACTOR,
            rules,
        )
        add_record(
            session,
            rt.vault_keys,
            org_id,
            subject.id,
            "user.contact.email",
            p.email,
            ["support"],
            "directly",
            ACTOR,
            rules,
        )
        if sensitive:
            add_record(
                session,
                rt.vault_keys,
                org_id,
                subject.id,
                "user.government_id.national_identification_number",
                ssn,
                ["sensitive-services"],
                "directly",
                ACTOR,
                rules,
                consent=Consent(True, {"form_id": "intake"}),
            )
        subject_id = subject.id
    return Seeded(p, subject_id, ssn)


def mails_to(smtp: SmtpSink, address: str, count: int = 1) -> list[EmailMessage]:
    """Wait until `count` mails reached `address`; return them in arrival order."""
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while True:
        found = [m for m in smtp.messages if address.lower() in str(m["To"]).lower()]
        if len(found) >= count or dt.datetime.now() > deadline:
            return found
        smtp.wait_for(len(smtp.messages) + 1, timeout=0.2)


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, action: str) -> str:
    """The token of the first `action` link (verify, download, appeal) in a received mail."""
    for _url, found_action, token in LINK.findall(body(message)):
        if found_action == action:
            return str(token)
    raise AssertionError(f"no {action} link in the mail: {message['Subject']}")


def public(org: Tenant, tail: str = "") -> str:
    return f"/v1/public/orgs/{org.slug}/requests{tail}"


def download_access(
    api: TestClient, org: Tenant, smtp: SmtpSink, p: Person, state: str = "CA", **extra: object
) -> zipfile.ZipFile:
    """Ask for an access package through the portal API, verify with every data point and the
    signed declaration, follow the mailed download link; the downloaded ZIP."""
    before = len(mails_to(smtp, p.email, 0))
    answer = api.post(
        public(org),
        json={"type": "access_specific", "jurisdiction": state, "email": p.email, **extra},
    )
    assert answer.status_code == 202, answer.text
    token = link_in(mails_to(smtp, p.email, before + 1)[-1], "verify")
    done = api.post(
        public(org, "/verify"),
        json={
            "token": token,
            "data_points": {"phone": p.phone, "birth_date": p.birth_date},
            "declaration": {"typed_name": f"{p.first_name} {p.last_name}", "agreed": True},
        },
    )
    assert done.json()["verified"] is True, done.text
    download = link_in(mails_to(smtp, p.email, before + 2)[-1], "download")
    package = api.get(public(org, "/download"), params={"token": download})
    assert package.status_code == 200, package.text
    return zipfile.ZipFile(io.BytesIO(package.content))


__all__ = [
    "Action",
    "Seeded",
    "body",
    "download_access",
    "link_in",
    "mails_to",
    "public",
    "seed",
    "somebody",
]
