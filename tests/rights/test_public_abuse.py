"""The public JSON intake shares the portal's rate limiter (per address, per person asked
about), and emailed links cannot be enumerated or locked by somebody else."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.api.app import create_app
from honorbound.notify.models import OutboxMessage
from honorbound.ratelimit import LIMITS
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.rights.conftest import link_in, mails_to, public, seed, somebody
from tests.support.smtp import SmtpSink


def _outbox_rows(rt: Runtime) -> int:
    with rt.db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_intake_cannot_flood_one_person_with_mail(
    api: TestClient, rt: Runtime, org: Tenant
) -> None:
    victim = somebody()
    answers = [
        api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": victim.email})
        for _ in range(30)
    ]
    codes = [a.status_code for a in answers]
    allowed = LIMITS["identity"][0]
    assert codes[:allowed] == [202] * allowed
    assert set(codes[allowed:]) == {429}
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert _outbox_rows(rt) <= allowed


def test_intake_is_limited_per_address(api: TestClient, org: Tenant) -> None:
    allowed = LIMITS["ip"][0]
    codes = [
        api.post(
            public(org),
            json={"type": "delete", "jurisdiction": "CA", "email": somebody().email},
        ).status_code
        for _ in range(allowed + 1)
    ]
    assert codes[:allowed] == [202] * allowed and codes[-1] == 429
    # Another address is not affected: the limit is per client.
    with TestClient(create_app(api.app.state.runtime), client=("198.51.100.9", 4000)) as other:
        again = other.post(
            public(org), json={"type": "delete", "jurisdiction": "CA", "email": somebody().email}
        )
    assert again.status_code == 202


def test_portal_form_and_json_intake_share_one_count(api: TestClient, org: Tenant) -> None:
    allowed = LIMITS["ip"][0]
    for _ in range(allowed):
        api.post(
            public(org), json={"type": "delete", "jurisdiction": "CA", "email": somebody().email}
        )
    form = api.get(f"/p/{org.slug}/requests/new")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    posted = api.post(
        f"/p/{org.slug}/requests",
        data={
            "type": "delete",
            "jurisdiction": "CA",
            "email": "x@example.com",
            "csrf_token": token,
        },
    )
    assert posted.status_code == 429


def test_link_ids_are_not_sequential(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    people = [seed(rt, org.id).person for _ in range(2)]
    ids = []
    for p in people:
        api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
        ids.append(link_in(mails_to(smtp, p.email)[0], "verify").split(".", 1)[0])
    for link_id in ids:
        assert not link_id.isdigit() and len(link_id) >= 22
    assert ids[0] != ids[1]


def test_guesses_from_elsewhere_never_lock_the_owner_out(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    link_id = token.split(".", 1)[0]
    max_attempts = 5
    # Somebody who learned the link id (not its secret) tries from another address.
    with TestClient(create_app(rt), client=("203.0.113.66", 5000)) as attacker:
        for _ in range(max_attempts + 2):
            guess = attacker.post(
                public(org, "/verify"), json={"token": f"{link_id}.guessed-secret-value"}
            )
        assert guess.status_code == 429 and guess.json()["reason"] == "locked"
        # Locked for the attacker even with the right secret now.
        assert attacker.post(public(org, "/verify"), json={"token": token}).status_code == 429
    # The owner's link still works.
    owner = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert owner.status_code == 200, owner.text
    assert owner.json()["verified"] is True
