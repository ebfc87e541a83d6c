"""Vault speed: interaction ingest (1 KB text, screening and encryption included) and
subject lookup by email or phone among many subjects.

    .venv/bin/python bench/vault.py                      # SQLite, 1,000,000 subjects
    .venv/bin/python bench/vault.py --subjects 100000    # smaller lookup table
    ./scripts/with-postgres.sh .venv/bin/python bench/vault.py --postgres

Targets (issue 4): ingest >= 1,000 interactions/s on SQLite on a 2-core machine; lookup p99
< 5 ms among 1,000,000 subjects. The figures are printed last as key=value pairs.

Ingest goes through `honorbound.vault.collection` (rules of the adopted example declaration,
screening, AES-256-GCM sealing, audit entries) in batches, one transaction per batch, and one
interaction per transaction for comparison. The lookup table is bulk-loaded with the same
normalisation, blind index and sealing as `upsert_subject` (but without the per-subject rule
checks, which are not what is measured); each lookup is `find_subject_id` (normalise, HMAC,
indexed query) in a fresh session.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.policy.store import adopt_text  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402
from honorbound.vault.collection import (  # noqa: E402
    NewInteraction,
    add_interaction,
    ingest_interactions,
    screen_for_storage,
)
from honorbound.vault.identities import IdentityKind, blind_index, normalize  # noqa: E402
from honorbound.vault.models import Channel, Direction, Identity, Subject  # noqa: E402
from honorbound.vault.rules import current_rules  # noqa: E402
from honorbound.vault.sealing import seal_text  # noqa: E402
from honorbound.vault.subjects import IdentityInput, find_subject_id, upsert_subject  # noqa: E402

EXAMPLE = ROOT / "examples" / "policies" / "contact-center-1-2024.yaml"
ACTOR = Actor("bench", "agent")
WORDS = [
    "account",
    "balance",
    "order",
    "delivery",
    "refund",
    "payment",
    "invoice",
    "thanks",
    "please",
    "update",
    "address",
    "schedule",
    "appointment",
    "technician",
    "router",
    "modem",
    "password",
    "reset",
    "confirm",
    "agent",
    "customer",
    "called",
    "yesterday",
    "issue",
    "ticket",
    "escalate",
    "supervisor",
    "billing",
    "cycle",
    "plan",
    "upgrade",
    "cancel",
]


def transcript(rng: random.Random, i: int) -> str:
    """About 1 KB of chat text; one in ten carries a card number and a security code."""
    words: list[str] = []
    size = 0
    while size < 1000:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    body = " ".join(words)[:1000]
    if i % 10 == 0:
        body = body[:940] + " card 4111 1111 1111 1111 cvv 123 ok"
    return body.ljust(1024, ".")


def email_of(i: int) -> str:
    return f"person{i}@example{i % 97}.test"


def phone_of(i: int) -> str:
    # +1 212 2xx xxxx: valid US numbers, unique for i < 10,000,000.
    return f"+1212{2000000 + i:07d}"


def database_url(args: argparse.Namespace, workdir: Path) -> str:
    if not args.postgres:
        return f"sqlite:///{workdir / 'bench.db'}"
    base = os.environ.get("HONORBOUND_TEST_DATABASE_URL")
    if not base:
        sys.exit(
            "--postgres needs HONORBOUND_TEST_DATABASE_URL (run under scripts/with-postgres.sh)"
        )
    name = f"bench_vault_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def ingest(
    rt, org: int, count: int, batch: int, subjects: list[int], workers: int
) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """`ingest_interactions` in batches; screening in `workers` processes (0: in-process).
    Returns interactions/s (wall) and this process's CPU ms per interaction (with workers=0
    that is the whole application-side cost: screening, sealing, SQL building)."""
    rng = random.Random(4)
    texts = [transcript(rng, i) for i in range(count)]
    started = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    executor = ProcessPoolExecutor(workers) if workers else None
    if executor is not None:  # start the worker processes before the clock runs
        list(executor.map(screen_for_storage, texts[: workers * 4]))
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, count, batch):
        items = [
            (
                subjects[i % len(subjects)],
                NewInteraction(Channel.CHAT, Direction.INBOUND, started, agent="a1", text=texts[i]),
            )
            for i in range(start, min(count, start + batch))
        ]
        ingest_interactions(rt.db, rt.vault_keys, org, items, ACTOR, executor, laws=rt.rules)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if executor is not None:
        executor.shutdown()
    return count / elapsed, cpu * 1000 / count


def ingest_single(rt, org: int, count: int, subjects: list[int]) -> float:  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    texts = [transcript(rng, i) for i in range(count)]
    started = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    for i in range(count):
        with rt.db.session() as session:
            rules = current_rules(session, org)
            assert rules is not None
            add_interaction(
                session,
                rt.vault_keys,
                org,
                subjects[i % len(subjects)],
                NewInteraction(Channel.CHAT, Direction.INBOUND, started, text=texts[i]),
                ACTOR,
                rules,
            )
    return count / (time.perf_counter() - t0)


def bulk_subjects(rt, org: int, first: int, count: int, chunk: int = 5000) -> None:  # type: ignore[no-untyped-def]
    index_key = rt.vault_keys.blind_index_key(org)
    now = dt.datetime.now(dt.UTC)
    for start in range(first, first + count, chunk):
        stop = min(first + count, start + chunk)
        key_ids = {i: uuid.uuid4().hex for i in range(start, stop)}
        deks = rt.vault_keys.create_data_keys(org, key_ids.values())
        with rt.db.session() as session:
            ids = (
                session.execute(
                    insert(Subject).returning(Subject.id, sort_by_parameter_order=True),
                    [
                        {
                            "organization_id": org,
                            "key_id": key_ids[i],
                            "type": "user",
                            "status": "active",
                            "created_at": now,
                            "last_activity_at": now,
                        }
                        for i in range(start, stop)
                    ],
                )
                .scalars()
                .all()
            )
            rows = []
            for subject_id, i in zip(ids, range(start, stop), strict=True):
                key_id = key_ids[i]
                dek = deks[key_id]
                for kind, raw in (
                    (IdentityKind.EMAIL, email_of(i)),
                    (IdentityKind.PHONE, phone_of(i)),
                ):
                    # Generated already normalised (checked in main), so the load skips
                    # `normalize`; the lookups below run it on every query.
                    value = raw
                    rows.append(
                        {
                            "organization_id": org,
                            "subject_id": subject_id,
                            "kind": kind.value,
                            "blind_index": blind_index(index_key, kind, value),
                            "value_sealed": seal_text(dek, org, key_id, f"identity:{kind}", value),
                            "created_at": now,
                        }
                    )
            session.execute(insert(Identity), rows)


def lookups(rt, org: int, population: int, count: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Wall and CPU time of each lookup (a unit of work of its own: BEGIN, query, COMMIT).
    CPU time tells the lookup's own cost apart from waiting for a busy machine's cores."""
    rng = random.Random(6)
    wall, cpu = [], []
    gc.collect()
    gc.freeze()  # the bulk load's garbage is not what is measured
    for n in range(count):
        i = rng.randrange(population)
        kind, value = (
            (IdentityKind.EMAIL, email_of(i)) if n % 2 else (IdentityKind.PHONE, phone_of(i))
        )
        t0, c0 = time.perf_counter(), time.thread_time()
        with rt.db.session() as session:
            found = find_subject_id(session, rt.vault_keys, org, kind, value)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        assert found is not None, "bulk-loaded subject not found"
    return wall, cpu


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=1_000_000, help="lookup population")
    parser.add_argument("--interactions", type=int, default=20_000, help="batched ingest count")
    parser.add_argument(
        "--single", type=int, default=2_000, help="one-per-transaction ingest count"
    )
    parser.add_argument("--batch", type=int, default=500, help="interactions per transaction")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="screening processes (0: none)"
    )
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="use HONORBOUND_TEST_DATABASE_URL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hb-bench-vault-") as tmp:
        workdir = Path(tmp)
        url = database_url(args, workdir)
        migrate.upgrade(url)
        settings = Settings(
            data_dir=workdir,
            database_url=url,
            keystore_url=f"sqlite:///{workdir / 'keys.db'}",
            master_key=secrets.token_hex(32),
        )
        rt = build_runtime(settings, immediate_jobs=True)
        with rt.db.session() as session:
            org = create_organization(session, "bench", "Bench", ACTOR).id
            adopt_text(session, org, EXAMPLE.read_text(encoding="utf-8"), ACTOR, EXAMPLE.name)
        subjects = []
        with rt.db.session() as session:
            rules = current_rules(session, org)
            assert rules is not None
            for i in range(200):
                up = upsert_subject(
                    session,
                    rt.vault_keys,
                    org,
                    [IdentityInput(IdentityKind.EMAIL, f"ingest{i}@example.test")],
                    ACTOR,
                    rules,
                    subject_type="user",
                )
                subjects.append(up.subject.id)
        for i in (0, 7, 999_999):
            assert normalize(IdentityKind.PHONE, phone_of(i)) == phone_of(i)
            assert normalize(IdentityKind.EMAIL, email_of(i)) == email_of(i)
        backend = "postgresql" if args.postgres else "sqlite"
        print(f"backend={backend} cpus={os.cpu_count()}", file=sys.stderr)
        serial, cpu_ms = ingest(rt, org, args.interactions // 4, args.batch, subjects, 0)
        print(f"ingest batched, screening in-process: {serial:,.0f}/s", file=sys.stderr)
        batched, _ = ingest(rt, org, args.interactions, args.batch, subjects, args.workers)
        print(
            f"ingest batched, screening in {args.workers} processes: {batched:,.0f}/s "
            f"({args.interactions} x 1 KB)",
            file=sys.stderr,
        )
        single = ingest_single(rt, org, args.single, subjects)
        print(f"ingest single: {single:,.0f}/s ({args.single} x 1 KB)", file=sys.stderr)

        t0 = time.perf_counter()
        bulk_subjects(rt, org, 0, args.subjects)
        load_s = time.perf_counter() - t0
        print(f"loaded {args.subjects:,} subjects in {load_s:.0f} s", file=sys.stderr)
        lookups(rt, org, args.subjects, 200)  # warm caches and connections
        wall, cpu = lookups(rt, org, args.subjects, args.lookups)
        p50 = statistics.median(wall) * 1000
        wall_p99, cpu_p99 = p99(wall), p99(cpu)
        load = os.getloadavg()[0]
        rt.close()
        print(
            f"backend={backend} ingest_per_s={batched:.0f} ingest_inprocess_per_s={serial:.0f} "
            f"ingest_cpu_ms={cpu_ms:.3f} "
            f"ingest_single_per_s={single:.0f} "
            f"interactions={args.interactions} subjects={args.subjects} "
            f"lookup_p50_ms={p50:.3f} lookup_p99_ms={wall_p99:.3f} lookup_cpu_p99_ms={cpu_p99:.3f} "
            f"load_s={load_s:.0f} loadavg={load:.1f}"
        )


if __name__ == "__main__":
    main()
