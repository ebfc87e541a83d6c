"""Audit chain check on the console home: full walk (before) against the checkpoint (after).

    .venv/bin/python bench/audit.py                    # 200,000 entries (about 1 min)
    .venv/bin/python bench/audit.py --entries 1000000

Loads one organization's chain with plain inserts of correctly hashed entries into a throw-away
SQLite database, then times, each in a fresh session: `verify` (what the dashboard did on every
visit), `check_new` with no checkpoint (the first visit), `check_new` with 0 and with 100 new
entries (every later visit), and the batched full walk the daily job and the console button
run. Figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert, select  # noqa: E402

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor, AuditEntry, append, head, verify  # noqa: E402
from honorbound.audit.chain import entry_hash  # noqa: E402
from honorbound.audit.checkpoints import check_full, check_full_in_batches, check_new  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402

ACTOR = Actor("user:1", "admin")


def timed(label: str, call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    took = time.perf_counter() - start
    print(f"{label}: {took * 1000:.1f} ms", flush=True)
    return took, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
    if args.entries < 1:
        parser.error(f"--entries must be at least 1, got {args.entries}")
    tmp = Path(tempfile.mkdtemp(prefix="hb-bench-audit-"))
    (tmp / "data").mkdir()
    settings = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'hb.db'}",
        keystore_url=f"sqlite:///{tmp / 'keys.db'}",
        master_key=secrets.token_hex(32),
        base_url="http://127.0.0.1",
    )
    migrate.upgrade(settings.database_url)
    rt = build_runtime(settings, immediate_jobs=True)
    with rt.db.session() as session:
        org_id = create_organization(session, "bench", "Bench", Actor("bench", "system")).id
    with rt.db.session() as session:
        seq, prev = head(session, org_id)
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        rows: list[dict[str, Any]] = []
        for i in range(args.entries):
            seq += 1
            entry = AuditEntry(
                organization_id=org_id,
                seq=seq,
                at=start + dt.timedelta(seconds=i),
                actor=ACTOR.id,
                role=ACTOR.role,
                action="bench.action",
                object_type="thing",
                object_id=str(i),
                details={"index": i},
                prev_hash=prev,
            )
            entry.hash = prev = entry_hash(entry)
            rows.append({c.key: getattr(entry, c.key) for c in AuditEntry.__table__.columns})
            rows[-1].pop("id")
            if len(rows) == 20_000:
                session.execute(insert(AuditEntry), rows)
                rows = []
        if rows:
            session.execute(insert(AuditEntry), rows)

    def full() -> Any:
        with rt.db.session() as session:
            return verify(session, org_id)

    def visit() -> Any:
        with rt.db.session() as session:
            return check_new(session, org_id)

    verify_s, result = timed("before: verify() on every visit", full)
    assert result.ok, result.problems
    first_s, _ = timed("first visit, no checkpoint yet (full walk)", visit)
    idle_s, status = timed("after: visit, 0 new entries", visit)
    assert status.ok and status.new_entries == 0
    with rt.db.session() as session:
        for _ in range(100):
            append(session, org_id, ACTOR, "bench.more")
    new_s, status = timed("after: visit, 100 new entries", visit)
    assert status.ok and status.new_entries == 100
    batched_s, status = timed(
        "full walk in batches (job)", lambda: check_full_in_batches(rt.db, org_id)
    )
    assert status.ok

    # How long one audited write (what every request does) waits while a full walk runs.
    def writer_wait(walk: Callable[[], Any]) -> float:
        walker = threading.Thread(target=walk)
        walker.start()
        time.sleep(0.2)
        start = time.perf_counter()
        with rt.db.session() as session:
            append(session, org_id, ACTOR, "bench.write")
        waited = time.perf_counter() - start
        walker.join()
        return waited

    def one_transaction() -> None:
        with rt.db.session() as session:
            check_full(session, org_id)

    wait_single = writer_wait(one_transaction)
    wait_batched = writer_wait(lambda: check_full_in_batches(rt.db, org_id))
    print(
        f"a write during a one-transaction walk waited {wait_single * 1000:.0f} ms, "
        f"during the batched walk {wait_batched * 1000:.0f} ms",
        flush=True,
    )
    with rt.db.session() as session:
        total = session.scalar(
            select(AuditEntry.seq)
            .where(AuditEntry.organization_id == org_id)
            .order_by(AuditEntry.seq.desc())
        )
    rt.close()
    print(
        f"entries={total} verify_ms={verify_s * 1000:.0f} first_visit_ms={first_s * 1000:.0f} "
        f"visit_0_new_ms={idle_s * 1000:.1f} visit_100_new_ms={new_s * 1000:.1f} "
        f"full_batched_ms={batched_s * 1000:.0f} write_wait_one_txn_ms={wait_single * 1000:.0f} "
        f"write_wait_batched_ms={wait_batched * 1000:.0f}"
    )


if __name__ == "__main__":
    main()
