"""Concurrent writers append to one organization's audit chain without an error and without
a fork: 50 real threads, each with its own connection, recording consent choices at once
(SQLite and, under scripts/with-postgres.sh, PostgreSQL, where this used to fail 19-26% of
the time on the (organization_id, seq) constraint)."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from honorbound.audit import Actor, verify
from honorbound.audit.models import AuditEntry
from honorbound.consent import ledger
from honorbound.consent.identity import identify
from honorbound.consent.models import ConsentEvent
from honorbound.db.engine import Database
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person

WRITERS = 50
EACH = 4


def test_fifty_concurrent_writers_all_succeed_and_the_chain_verifies(
    runtime: Runtime, tenant: Tenant
) -> None:
    # A pool as big as the writers: every thread really holds its own connection at once.
    db = Database(runtime.db.url, pool_size=WRITERS, max_overflow=0)
    people = [person().email for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    errors: list[str] = []
    done: Counter[int] = Counter()

    def writer(n: int) -> None:
        ref = identify(runtime.keys, tenant.id, people[n])
        start.wait()
        for k in range(EACH):
            try:
                with db.session() as session:
                    ledger.record(
                        session,
                        tenant.id,
                        ref,
                        "marketing",
                        "email",
                        ("opt_in", "opt_out")[k % 2],
                        "web_form",
                        Actor("test", "agent"),
                    )
                done[n] += 1
            except Exception as exc:  # every failure counts; none is expected
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.dispose()
    assert not errors, f"{len(errors)} of {WRITERS * EACH} writes failed: {errors[:3]}"
    assert sum(done.values()) == WRITERS * EACH
    with runtime.db.session() as session:
        events = session.scalar(select(func.count()).select_from(ConsentEvent))
        seqs = list(
            session.scalars(
                select(AuditEntry.seq)
                .where(AuditEntry.organization_id == tenant.id)
                .order_by(AuditEntry.seq)
            )
        )
        result = verify(session, tenant.id)
    assert events == WRITERS * EACH
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no repeat
    assert result.ok, result.problems


def test_event_ids_are_committed_in_order_within_an_organization(
    runtime: Runtime, tenant: Tenant
) -> None:
    """The decision snapshot reads "events with an id above the last one seen"; that only
    misses nothing if, per organization, a smaller id is never committed after a larger one.
    Each audit entry records the event id it is about, in chain order: ids must rise."""
    test_fifty_concurrent_writers_all_succeed_and_the_chain_verifies(runtime, tenant)
    with runtime.db.session() as session:
        ids = [
            int(object_id)
            for object_id in session.scalars(
                select(AuditEntry.object_id)
                .where(
                    AuditEntry.organization_id == tenant.id,
                    AuditEntry.object_type == "consent_event",
                )
                .order_by(AuditEntry.seq)
            )
        ]
    assert ids == sorted(ids)


def test_one_webhook_delivered_many_times_at_once_records_one_event(
    runtime: Runtime, tenant: Tenant
) -> None:
    """Gateways retry: twenty copies of one message (same external_ref) arriving together give
    one event and twenty successes, never a duplicate-key error."""
    copies = 20
    db = Database(runtime.db.url, pool_size=copies, max_overflow=0)
    ref = identify(runtime.keys, tenant.id, person().email)
    start = threading.Barrier(copies)
    errors: list[str] = []
    ids: list[int] = []

    def deliver() -> None:
        start.wait()
        try:
            with db.session() as session:
                event, _ = ledger.record(
                    session,
                    tenant.id,
                    ref,
                    "marketing",
                    "sms",
                    "opt_out",
                    "sms_keyword",
                    Actor("consumer", "consumer"),
                    external_ref="sms:SM-retry-1",
                )
                ids.append(event.id)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    threads = [threading.Thread(target=deliver) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.dispose()
    assert not errors, errors[:3]
    assert len(ids) == copies and len(set(ids)) == 1
