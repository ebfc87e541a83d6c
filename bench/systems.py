"""Connected systems: access + deletion of one person across four systems holding 10M rows, and
a drift scan of a 10M-row, 50-table PostgreSQL database.

    make bench-systems     (= scripts/with-mariadb.sh scripts/with-postgres.sh python bench/systems.py)

Part 1 builds a CRM in PostgreSQL (1M customers, 3M orders), a dialer in MariaDB (3M calls), an
export folder (a 2M-row Parquet file sorted by customer id, plus the person's recordings) and a
ticketing system behind the reference webhook receiver (1M tickets in its SQLite file), every
lookup field indexed: 10M rows. It times one access request (gather from all four) and one
deletion (every field's strategy in every system) through `honorbound.systems.requests`, on a
real Honorbound database, and checks the person is gone from each system with its own client.

Part 2 builds 50 tables of 200,000 rows in a second PostgreSQL database, maps 25 of them, and
times `systems scan` (sampling, detection, retention counts) and its peak memory.

Data is synthetic (no person's data); the databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import resource
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TARGET = 777_777  # the person (customer id); lowered for small --scale runs
PHONE = "+12125550177"

CRM = """\
dataset:
  - fides_key: crm
    name: CRM (PostgreSQL)
    meta: {honorbound: {connection: {type: sql, url_env: BENCH_CRM_URL}}}
    collections:
      - name: customers
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: phone, data_categories: [user.contact.phone_number], fides_meta: {identity: phone, masking_strategy_override: {strategy: hmac}}}
          - {name: full_name, data_categories: [user.name]}
      - name: orders
        fides_meta: {masking_strategy_override: {strategy: delete}}
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - {name: customer_id, data_categories: [system.operations], fides_meta: {references: [{dataset: crm, field: customers.id, direction: from}]}}
          - {name: ship_to, data_categories: [user.contact.address]}
"""
DIALER = """\
dataset:
  - fides_key: dialer
    name: Dialer (MariaDB)
    meta: {honorbound: {connection: {type: sql, url_env: BENCH_DIALER_URL}}}
    collections:
      - name: calls
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - {name: phone, data_categories: [user.contact.phone_number], fides_meta: {identity: phone}}
          - name: customer_id
            data_categories: [system.operations]
            fides_meta: {references: [{dataset: crm, field: customers.id, direction: from}]}
          - {name: notes, data_categories: [user.contact_center.chat_log]}
"""
FILES = """\
dataset:
  - fides_key: exports
    name: Exports (files)
    meta:
      honorbound:
        connection: {type: files, url_env: BENCH_FILES_URL}
        collections:
          calls: {path: "calls/*.parquet", format: parquet}
          recordings: {path: "recordings/{customer_id}/*.wav", format: recording}
    collections:
      - name: calls
        fields:
          - name: customer_id
            data_categories: [system.operations]
            fides_meta: {references: [{dataset: crm, field: customers.id, direction: from}]}
          - {name: transcript, data_categories: [user.contact_center.chat_log], fides_meta: {masking_strategy_override: {strategy: hmac}}}
      - name: recordings
        fields:
          - name: customer_id
            data_categories: [system.operations]
            fides_meta: {references: [{dataset: crm, field: customers.id, direction: from}]}
          - {name: audio, data_categories: [user.contact_center.call_recording]}
"""
HOOK = """\
dataset:
  - fides_key: ticketing
    name: Ticketing (webhook)
    meta: {honorbound: {connection: {type: webhook, url_env: BENCH_HOOK_URL, secret: {env: BENCH_HOOK_SECRET}}}}
    collections:
      - name: tickets
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: body, data_categories: [user.contact_center.chat_log]}
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def new_database(admin_url: str, prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str, force: bool) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if force else "")))
    engine.dispose()


def build_crm(url: str, customers: int, orders: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE customers (id bigint PRIMARY KEY, email text, phone text, full_name text)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO customers SELECT g, 'person' || g || '@example.test', "
                "'+1212' || lpad((g % 10000000)::text, 7, '0'), 'Name ' || g FROM generate_series(1, :n) g"
            ),
            {"n": customers},
        )
        conn.execute(
            text("UPDATE customers SET phone = :p WHERE id = :id"), {"p": PHONE, "id": TARGET}
        )
        conn.execute(
            text("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, ship_to text)")
        )
        conn.execute(
            text(
                "INSERT INTO orders SELECT g, (g % :c) + 1, g || ' Synthetic Street' FROM generate_series(1, :n) g"
            ),
            {"n": orders, "c": customers},
        )
        conn.execute(text("CREATE INDEX ON customers (email)"))
        conn.execute(text("CREATE INDEX ON customers (phone)"))
        conn.execute(text("CREATE INDEX ON orders (customer_id)"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def build_dialer(url: str, calls: int, customers: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE calls (id BIGINT PRIMARY KEY, phone VARCHAR(20), customer_id BIGINT, notes VARCHAR(200)) ENGINE=InnoDB"
            )
        )
        step = 1_000_000
        for start in range(0, calls, step):
            n = min(step, calls - start)
            conn.execute(
                text(
                    f"INSERT INTO calls SELECT seq + {start}, concat('+1646', lpad(seq % 10000000, 7, '0')), "
                    f"((seq + {start}) % {customers}) + 1, concat('call note ', seq) FROM seq_1_to_{n}"
                )
            )
        conn.execute(text("CREATE INDEX ix_calls_phone ON calls (phone)"))
        conn.execute(text("CREATE INDEX ix_calls_customer ON calls (customer_id)"))
    engine.dispose()


def build_files(root: Path, rows: int, customers: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Exports partitioned by customer id range (as a warehouse unload writes them), each file
    # sorted: row-group statistics then say which file and which row groups can hold a person.
    ids = np.sort(np.arange(rows, dtype=np.int64) % customers + 1)
    transcript = pa.array([f"call {i}" for i in range(rows)])
    (root / "calls").mkdir()
    parts = 20
    size = -(-rows // parts)
    for k in range(parts):
        chunk = slice(k * size, min(rows, (k + 1) * size))
        pq.write_table(
            pa.table({"customer_id": ids[chunk], "transcript": transcript[chunk]}),
            root / "calls" / f"part-{k:02d}.parquet",
            row_group_size=16_384,
        )
    folder = root / "recordings" / str(TARGET)
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"call-{i}.wav").write_bytes(b"RIFF" + secrets.token_bytes(4096))


def build_hook(db: Path, rows: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, email TEXT, body TEXT)")
    conn.executemany(
        "INSERT INTO tickets (email, body) VALUES (?, ?)",
        ((f"person{i}@example.test", f"ticket {i}") for i in range(1, rows + 1)),
    )
    conn.execute("CREATE INDEX ix_tickets_email ON tickets (email)")
    conn.commit()
    conn.close()


def receiver_module() -> Any:
    path = ROOT / "examples" / "systems" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def honorbound_runtime(workdir: Path) -> tuple[Any, int, Any]:
    from honorbound.accounts.service import create_organization
    from honorbound.audit import Actor
    from honorbound.config import Settings
    from honorbound.db import migrate
    from honorbound.policy.store import adopt_text
    from honorbound.runtime import build_runtime

    url = f"sqlite:///{workdir / 'honorbound.db'}"
    migrate.upgrade(url)
    settings = Settings(
        data_dir=workdir / "data",
        database_url=url,
        keystore_url=f"sqlite:///{workdir / 'keys.db'}",
        master_key=secrets.token_hex(32),
    )
    rt = build_runtime(settings, immediate_jobs=True)
    actor = Actor("bench", "system")
    with rt.db.session() as session:
        org = create_organization(session, "bench", "Bench", actor)
        policy = ROOT / "examples" / "policies" / "contact-center-1-2024.yaml"
        adopt_text(session, org.id, policy.read_text(), actor, filename=policy.name, jobs=rt.jobs)
        org_id = org.id
    return rt, org_id, actor


def new_request(rt: Any, org_id: int, kind: str) -> int:
    from honorbound.rights.models import RightsRequest

    now = dt.datetime.now(dt.UTC)
    with rt.db.session() as session:
        request = RightsRequest(
            organization_id=org_id,
            reference=f"R-{uuid.uuid4().hex[:12].upper()}",
            type=kind,
            status="in_progress",
            manner="portal",
            jurisdiction="CA",
            contact_index="bench",
            received_at=now,
            acknowledge_by=now,
            due_at=now + dt.timedelta(days=45),
            verified_at=now,
            retain_until=now + dt.timedelta(days=730),
        )
        session.add(request)
        session.flush()
        return int(request.id)


def part_one(pg_admin: str, maria_admin: str, workdir: Path, scale: float) -> dict[str, str]:
    from honorbound.rights.jobs import services
    from honorbound.rights.models import RightsRequest
    from honorbound.systems import registry
    from honorbound.systems import requests as systems

    global TARGET
    customers, orders = int(1_000_000 * scale), int(3_000_000 * scale)
    TARGET = min(TARGET, customers // 2 + 7)
    email = f"person{TARGET}@example.test"
    calls, parquet_rows, tickets = (
        int(3_000_000 * scale),
        int(2_000_000 * scale),
        int(1_000_000 * scale),
    )
    total = customers + orders + calls + parquet_rows + tickets
    crm_name, crm_url = new_database(pg_admin, "bench_crm")
    dialer_name, dialer_url = new_database(maria_admin, "bench_dialer")
    hook_server = None
    try:
        t = time.perf_counter()
        build_crm(crm_url, customers, orders)
        log(f"PostgreSQL CRM: {customers + orders:,} rows in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        build_dialer(dialer_url, calls, customers)
        log(f"MariaDB dialer: {calls:,} rows in {time.perf_counter() - t:.0f} s")
        files = workdir / "exports"
        files.mkdir()
        t = time.perf_counter()
        build_files(files, parquet_rows, customers)
        hook_db = workdir / "ticketing.db"
        build_hook(hook_db, tickets)
        log(f"files + webhook: {parquet_rows + tickets:,} rows in {time.perf_counter() - t:.0f} s")
        module = receiver_module()
        secret = secrets.token_hex(16)
        receiver = module.Receiver(module.Store(str(hook_db)), secret.encode())
        hook_server = receiver.server("127.0.0.1", 0)
        threading.Thread(target=hook_server.serve_forever, daemon=True).start()
        os.environ.update(
            {
                "BENCH_CRM_URL": crm_url,
                "BENCH_DIALER_URL": dialer_url,
                "BENCH_FILES_URL": f"file://{files}",
                "BENCH_HOOK_URL": f"http://127.0.0.1:{hook_server.server_address[1]}/",
                "BENCH_HOOK_SECRET": secret,
            }
        )
        rt, org_id, actor = honorbound_runtime(workdir)
        svc = services(rt)
        with rt.db.session() as session:
            for i, m in enumerate((CRM, DIALER, FILES, HOOK)):
                registry.connect(session, org_id, m, f"map{i}.yaml", actor)
        identities = {"email": {email}, "phone": {PHONE}}
        # A running worker has the connector modules loaded: warm up with another person.
        warm = new_request(rt, org_id, "access_specific")
        t = time.perf_counter()
        with rt.db.session() as session:
            systems.gather(
                session,
                svc.systems,
                svc.keys,
                session.get(RightsRequest, warm),
                {"email": {"person3@example.test"}},
                actor,
            )
        cold = time.perf_counter() - t
        figures: dict[str, float] = {}
        for kind, run in (("access_specific", systems.gather), ("delete", systems.erase)):
            request_id = new_request(rt, org_id, kind)
            start = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            with rt.db.session() as session:
                request = session.get(RightsRequest, request_id)
                outcome = run(session, svc.systems, svc.keys, request, identities, actor)
            if os.environ.get("BENCH_PROFILE"):
                profiler.disable()
                profiler.dump_stats(f"/tmp/bench-{kind}.prof")
            figures[kind] = time.perf_counter() - start
            if not outcome.complete:
                sys.exit(f"{kind} did not complete: {outcome.failed} {outcome.waiting}")
        rt.close()
        # Checked with each system's own client.
        pg = create_engine(crm_url)
        with pg.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM customers WHERE email = :e"), {"e": email}
            ).scalar()
            orders_left = conn.execute(
                text("SELECT count(*) FROM orders WHERE customer_id = :i"), {"i": TARGET}
            ).scalar()
        pg.dispose()
        maria = create_engine(dialer_url)
        with maria.connect() as conn:
            notes = conn.execute(
                text("SELECT count(*) FROM calls WHERE customer_id = :i AND notes IS NOT NULL"),
                {"i": TARGET},
            ).scalar()
        maria.dispose()
        import pyarrow.parquet as pq

        transcripts = [
            r["transcript"]
            for r in pq.read_table(
                files / "calls", filters=[("customer_id", "=", TARGET)]
            ).to_pylist()
        ]
        with sqlite3.connect(hook_db) as conn:
            tickets_left = conn.execute(
                "SELECT count(*) FROM tickets WHERE email = ?", (email,)
            ).fetchone()[0]
        recordings_left = list((files / "recordings").rglob("*.wav"))
        if (
            left
            or orders_left
            or notes
            or tickets_left
            or recordings_left
            or not all(str(t).startswith("hb:") for t in transcripts)
        ):
            sys.exit(f"wrong result: {left} {orders_left} {notes} {tickets_left} {recordings_left}")
        return {
            "systems": "4",
            "rows_total": str(total),
            "access_seconds": f"{figures['access_specific']:.2f}",
            "deletion_seconds": f"{figures['delete']:.2f}",
            "access_plus_deletion_seconds": f"{figures['access_specific'] + figures['delete']:.2f}",
            "first_access_in_process_seconds": f"{cold:.2f}",
        }
    finally:
        if hook_server is not None:
            hook_server.shutdown()
            hook_server.server_close()
        drop_database(pg_admin, crm_name, force=True)
        drop_database(maria_admin, dialer_name, force=False)


def part_two(pg_admin: str, workdir: Path, scale: float) -> dict[str, str]:
    from honorbound.audit import Actor
    from honorbound.systems import registry
    from honorbound.systems.jobs import context
    from honorbound.systems.scan import scan

    tables, per_table = 50, int(200_000 * scale)
    name, url = new_database(pg_admin, "bench_drift")
    try:
        t = time.perf_counter()
        engine = create_engine(url)
        with engine.begin() as conn:
            for i in range(tables):
                conn.execute(
                    text(
                        f"CREATE TABLE t{i:02d} (id bigint PRIMARY KEY, email text, phone text, note text, "
                        "amount numeric, created_at timestamp)"
                    )
                )
                conn.execute(
                    text(
                        f"INSERT INTO t{i:02d} SELECT g, 'p' || g || '@example.test', "
                        "'+1312' || lpad((g % 10000000)::text, 7, '0'), "
                        "CASE WHEN g % 7 = 0 THEN 'card 4111 1111 1111 1111' ELSE 'note ' || g END, "
                        "g % 1000, now() - ((g * 37) % 3650) * interval '1 day' FROM generate_series(1, :n) g"
                    ),
                    {"n": per_table},
                )
                conn.execute(text(f"CREATE INDEX ON t{i:02d} (email)"))
            conn.execute(text("ANALYZE"))
        engine.dispose()
        log(
            f"drift database: {tables * per_table:,} rows in {tables} tables in {time.perf_counter() - t:.0f} s"
        )
        collections = []
        for i in range(0, tables, 2):
            collections.append(
                f"""      - name: t{i:02d}
        fields:
          - {{name: id, data_categories: [system.operations], fides_meta: {{primary_key: true}}}}
          - {{name: email, data_categories: [user.contact.email], fides_meta: {{identity: email}}}}
          - {{name: created_at, data_categories: [system.operations]}}
"""
            )
        retention = ", ".join(
            f"t{i:02d}: {{retention_field: created_at, retention_trigger: after_last_activity}}"
            for i in range(0, tables, 2)
        )
        drift_map = (
            "dataset:\n  - fides_key: warehouse\n    name: Warehouse\n    meta:\n      honorbound:\n"
            "        subject_type: user\n        connection: {type: sql, url_env: BENCH_DRIFT_URL}\n"
            f"        collections: {{{retention}}}\n    collections:\n" + "".join(collections)
        )
        os.environ["BENCH_DRIFT_URL"] = url
        drift_dir = workdir / "drift"
        drift_dir.mkdir()
        rt, org_id, actor = honorbound_runtime(drift_dir)
        with rt.db.session() as session:
            registry.connect(session, org_id, drift_map, "warehouse.yaml", Actor("bench", "system"))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        with rt.db.session() as session:
            report = scan(session, context(rt), org_id, sample_rows=200)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rt.close()
        undeclared = len(report["undeclared_fields"])
        older = len(report["older_than_retention"])
        if older != tables // 2 or undeclared < tables:
            sys.exit(f"wrong scan: {older} collections past retention, {undeclared} undeclared")
        return {
            "scan_tables": str(tables),
            "scan_rows": str(tables * per_table),
            "scan_seconds": f"{seconds:.1f}",
            "scan_undeclared_fields": str(undeclared),
            "scan_peak_rss_mb": f"{peak / 1024:.0f}",
            "scan_rss_growth_mb": f"{(peak - before) / 1024:.0f}",
        }
    finally:
        drop_database(pg_admin, name, force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 10M rows")
    args = parser.parse_args()
    pg = os.environ.get("HONORBOUND_TEST_DATABASE_URL")
    maria = os.environ.get("HONORBOUND_TEST_MARIADB_URL")
    if not pg or not maria:
        sys.exit(
            "run through scripts/with-mariadb.sh scripts/with-postgres.sh (make bench-systems)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="honorbound-bench-systems-"))
    try:
        figures = part_one(pg, maria, workdir, args.scale)
        figures.update(part_two(pg, workdir, args.scale))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
