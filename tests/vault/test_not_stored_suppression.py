"""Issue 14, defects 6 and 7 together: a person erased by a "not stored" (P0D) retention rule
(LiveOps' invited friends) gets no later mail. Every identity they had goes into the
suppression list before their key is destroyed, so a later import of the same address or
number is matched and blocked.

Oracles: the contact-decision API's answers, and the consent ledger's rows read directly
(one-way keys only, never the address).
"""

from __future__ import annotations

import contextlib
import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.consent.models import ConsentEvent
from honorbound.retention.sweep import sweep
from honorbound.runtime import Runtime
from honorbound.vault.keystore import KeyDestroyed
from honorbound.vault.models import Subject
from tests.support.people import person
from tests.vault.test_collection_promises import _record, _subject, _tenant


def _decide(client: TestClient, headers: dict[str, str], items: list[dict[str, str]]) -> list:
    response = client.post("/v1/contact-decisions", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    return [(r["allowed"], r["reasons"]) for r in response.json()["results"]]


def test_an_invited_friend_erased_as_not_stored_is_never_mailed_again(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "liveops-2018")  # invites: user.contact of invited friends, P0D
    headers = tenant.headers(Role.AGENT)
    friend, bystander = person(), person()
    fid = _subject(client, tenant, "invited-friend", friend)
    invite = _record(
        client,
        tenant,
        fid,
        "user.contact.email",
        friend.email,
        purposes=["invite-a-friend"],
        source="referral",
    )
    assert invite.status_code == 201, invite.text
    items = [
        {"identity": friend.email, "purpose": "marketing", "channel": "email"},
        {"identity": friend.phone, "purpose": "marketing", "channel": "sms"},
        {"identity": bystander.email, "purpose": "marketing", "channel": "email"},
    ]
    before = _decide(client, headers, items)
    assert before[0] == before[2]  # nothing on file for the friend yet: like anyone else

    sweep(runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system())
    with runtime.db.session() as session:
        assert session.get(Subject, fid).status == "erased"  # type: ignore[union-attr]
        rows = list(
            session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.organization_id == tenant.id, ConsentEvent.subject_id == fid
                )
            )
        )
    # One entry per identity (email and phone), an opt-out of marketing on every channel.
    assert sorted((r.identity_kind, r.purpose, r.channel, r.action, r.source) for r in rows) == [
        ("email", "marketing", "all", "opt_out", "retention"),
        ("phone", "marketing", "all", "opt_out", "retention"),
    ]
    stored = json.dumps([[r.identity_index, r.evidence, r.external_ref] for r in rows])
    assert friend.email not in stored and friend.phone[-7:] not in stored

    after = _decide(client, headers, items)
    assert not after[0][0] and not after[1][0], after
    assert after[2] == before[2]

    # The friend is imported again (another invite): still no mail.
    again = _subject(client, tenant, "invited-friend", friend)
    assert again != fid
    assert [a for a, _ in _decide(client, headers, items[:2])] == [False, False]

    # A second sweep (a resumed or repeated run) adds no duplicate entries for the first one.
    sweep(runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system())
    with runtime.db.session() as session:
        kept = session.scalars(
            select(ConsentEvent.id).where(
                ConsentEvent.organization_id == tenant.id, ConsentEvent.subject_id == fid
            )
        ).all()
    assert len(kept) == 2


def test_the_entries_survive_a_crash_after_the_key_is_destroyed(
    client: TestClient, runtime: Runtime
) -> None:
    """The key store commits a key's destruction on its own; a sweep that dies before its
    batch commits must still leave the person suppressed (nothing can read them afterwards)."""
    tenant = _tenant(runtime, "liveops-2018")
    friend = person()
    fid = _subject(client, tenant, "invited-friend", friend)

    with runtime.db.session() as session:
        key_id = session.get(Subject, fid).key_id  # type: ignore[union-attr]
    crashed = []

    def die(_: int) -> None:
        # Dies in the batch that destroyed the friend's key, before that batch commits.
        try:
            runtime.vault_keys.data_key(tenant.id, key_id)
        except KeyDestroyed:
            crashed.append(True)
            raise RuntimeError("power cut") from None

    with contextlib.suppress(RuntimeError):
        sweep(runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system(), on_batch=die)
    assert crashed
    with runtime.db.session() as session:
        assert session.get(Subject, fid).status != "erased"  # type: ignore[union-attr]
    sweep(runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system())
    with runtime.db.session() as session:
        assert session.get(Subject, fid).status == "erased"  # type: ignore[union-attr]
        sources = session.scalars(
            select(ConsentEvent.source).where(
                ConsentEvent.organization_id == tenant.id, ConsentEvent.subject_id == fid
            )
        ).all()
    assert sorted(sources) == ["retention", "retention"]
    decided = _decide(
        client,
        tenant.headers(Role.AGENT),
        [{"identity": friend.phone, "purpose": "marketing", "channel": "sms"}],
    )
    assert decided[0][0] is False
