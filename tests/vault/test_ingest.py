"""Bulk ingest: screening before the write transaction (in worker processes), all or nothing."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.runtime import Runtime
from honorbound.vault import erasure
from honorbound.vault.collection import NewInteraction, ingest_interactions
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Channel, Direction, Interaction, Subject
from honorbound.vault.rules import CollectionRefused, current_rules
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import IdentityInput, SubjectNotFound, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person, remember

ACTOR = Actor("test", "agent")
AT = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
CARD = "5555 5555 5555 4444"


def _subjects(runtime: Runtime, org: int, n: int) -> list[int]:
    out = []
    with runtime.db.session() as s:
        rules = current_rules(s, org, runtime.rules)
        assert rules is not None
        for _ in range(n):
            up = upsert_subject(
                s,
                runtime.vault_keys,
                org,
                [IdentityInput(IdentityKind.EMAIL, person().email)],
                ACTOR,
                rules,
                subject_type="user",
            )
            out.append(up.subject.id)
    return out


def _count(runtime: Runtime) -> int:
    with runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Interaction)) or 0)


def test_ingest_in_worker_processes(
    runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    remember(CARD, CARD.replace(" ", ""))
    a, b = _subjects(runtime, tenant.id, 2)
    items = [
        (
            (a, b)[i % 2],
            NewInteraction(
                Channel.CHAT,
                Direction.INBOUND,
                AT,
                text=f"message {i}: " + (f"card {CARD} and cvv 321" if i % 3 == 0 else "hello"),
            ),
        )
        for i in range(30)
    ]
    with ProcessPoolExecutor(2) as pool:
        result = ingest_interactions(
            runtime.db, runtime.vault_keys, tenant.id, items, ACTOR, pool, laws=runtime.rules
        )
    assert len(result.ids) == 30 and result.findings == {"CREDIT_CARD": 10, "CVV": 10}
    assert result.originals_kept == 0  # card numbers are not in the example notice
    with runtime.db.session() as s:
        rows = list(s.scalars(select(Interaction).order_by(Interaction.id)))
        assert [r.id for r in rows] == result.ids
        keys = {sid: s.get(Subject, sid).key_id for sid in (a, b)}  # type: ignore[union-attr]
        for i, row in enumerate(rows):
            assert row.subject_id == (a, b)[i % 2]
            key_id = keys[row.subject_id]
            body = open_text(
                runtime.vault_keys.data_key(tenant.id, key_id),
                tenant.id,
                key_id,
                "interaction:body",
                row.body_sealed or b"",
            )
            assert body.startswith(f"message {i}: ")
            assert CARD not in body and "321" not in body and row.original_sealed is None
        entries = list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == "interactions.ingested"))
        )
        assert len(entries) == 1 and entries[0].details["count"] == 30


def test_ingest_is_all_or_nothing(runtime: Runtime, tenant: Tenant, adopted_policy: object) -> None:
    a, b = _subjects(runtime, tenant.id, 2)
    chat = NewInteraction(Channel.CHAT, Direction.INBOUND, AT, text="hi")
    call = NewInteraction(Channel.CALL, Direction.INBOUND, AT, text="transcript")
    with pytest.raises(CollectionRefused) as info:
        ingest_interactions(
            runtime.db,
            runtime.vault_keys,
            tenant.id,
            [(a, chat), (a, call)],
            ACTOR,
            laws=runtime.rules,
        )
    assert (info.value.rule, info.value.field) == ("category_not_declared", "items[1].text")
    with runtime.db.session() as s:
        erasure.erase_subject(s, runtime.vault_keys, tenant.id, b, Actor.system(), "test")
    with pytest.raises(SubjectNotFound):
        ingest_interactions(
            runtime.db,
            runtime.vault_keys,
            tenant.id,
            [(a, chat), (b, chat)],
            ACTOR,
            laws=runtime.rules,
        )
    assert _count(runtime) == 0
    done = ingest_interactions(
        runtime.db, runtime.vault_keys, tenant.id, [(a, chat)], ACTOR, laws=runtime.rules
    )
    assert len(done.ids) == 1 and _count(runtime) == 1


def test_ingest_without_a_notice_is_refused(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(CollectionRefused) as info:
        ingest_interactions(
            runtime.db, runtime.vault_keys, tenant.id, [], ACTOR, laws=runtime.rules
        )
    assert info.value.rule == "no_policy"
