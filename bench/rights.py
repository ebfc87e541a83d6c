"""Rights-request speed on SQLite with a large vault.

    .venv/bin/python bench/rights.py      # 300,000 subjects, 3,000,000 records (about 3 min)
    .venv/bin/python bench/rights.py --subjects 1000000 --records 10000000   # issue size, ~9 min
    .venv/bin/python bench/rights.py --subjects 2000 --records 20000 --target-records 100000 \
        --repeat 2                          # issue 22: a person with 100,000 records (< 2 s)
    ./scripts/with-postgres.sh sh -c '.venv/bin/python bench/rights.py \
        --database-url "$HONORBOUND_TEST_DATABASE_URL" ...'       # the same on PostgreSQL

Targets (issue 7): for a subject holding 1,000 records among 1,000,000 subjects and 10,000,000
records, building the access package (ZIP with data.json, CSVs, summary.html; every value
decrypted) < 1 s; deleting that subject (crypto-shred, row deletes, suppression entry, request
closed, answer queued) < 1 s; listing 1,000 open requests by due date < 200 ms.

The bulk of the vault is loaded with plain inserts (dummy ciphertexts that are never read);
the measured subjects are made with `upsert_subject` and really sealed records. The measured
calls are the domain functions the API calls (`build_package`, `execute`, `list_requests`),
each in a fresh session; `access_package_cpu_ms_median` is CPU time of this process (on a
shared machine the wall figure is the share it got). The database (a temporary SQLite file, or
a database created on the PostgreSQL server given) is removed at the end. Figures are printed
last as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text  # noqa: E402
from throwaway import throwaway_database  # noqa: E402

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.db.engine import Database  # noqa: E402
from honorbound.rights.context import Services  # noqa: E402
from honorbound.rights.execution import execute  # noqa: E402
from honorbound.rights.intake import NewRequest, take_request  # noqa: E402
from honorbound.rights.models import Manner, RequestType, RightsRequest, Status  # noqa: E402
from honorbound.rights.outgoing import organization  # noqa: E402
from honorbound.rights.package import build_package  # noqa: E402
from honorbound.rights.queries import list_requests  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402
from honorbound.vault.identities import IdentityKind  # noqa: E402
from honorbound.vault.rules import CollectionRules  # noqa: E402
from honorbound.vault.sealing import seal_text  # noqa: E402
from honorbound.vault.subjects import IdentityInput, upsert_subject  # noqa: E402

ACTOR = Actor("bench", "system")
CATEGORIES = [
    "user.contact.address",
    "user.contact.email",
    "user.contact.phone_number",
    "user.demographic.age_range",
    "user.device.ip_address",
    "user.employment_history",
    "user.education_history",
    "user.financial.assets_and_income",
    "user.location.imprecise",
    "user.government_id.national_identification_number",  # shown as "held" (CA 7024)
]
CHUNK = 200_000


def sqlite_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def bulk_load(db: Database, org_id: int, subjects: int, records: int, requests: int) -> None:
    """Background subjects and records (never read), and open requests to list: plain
    multi-row inserts through the driver, on SQLite or PostgreSQL."""
    now = sqlite_time(dt.datetime.now(dt.UTC))
    blob = os.urandom(60)
    with db.engine.begin() as conn:
        start_id = conn.scalar(text("SELECT COALESCE(MAX(id), 0) FROM vault_subjects")) + 1
    for base in range(0, subjects, CHUNK):
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO vault_subjects (id, organization_id, key_id, type, status, "
                    "created_at, last_activity_at) VALUES (:i, :o, :k, 'user', 'active', :t, :t)"
                ),
                [
                    {"i": start_id + i, "o": org_id, "k": uuid.uuid4().hex, "t": now}
                    for i in range(base, min(base + CHUNK, subjects))
                ],
            )
    purposes = json.dumps(["support"])
    for base in range(0, records, CHUNK):
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO vault_records (organization_id, subject_id, category, purposes, "
                    "source, collected_at, value_sealed) "
                    "VALUES (:o, :s, :c, :p, 'directly', :t, :b)"
                ),
                [
                    {"o": org_id, "s": start_id + (i % subjects), "c": CATEGORIES[i % 9],
                     "p": purposes, "t": now, "b": blob}
                    for i in range(base, min(base + CHUNK, records))
                ],
            )  # fmt: skip
    received = dt.datetime.now(dt.UTC)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO rights_requests (organization_id, reference, type, status, manner, "
                "jurisdiction, contact_index, received_at, acknowledge_by, due_at, "
                "verification_points, merged_count, reminder_level, retain_until) VALUES "
                "(:o, :r, 'access_categories', :s, 'portal', 'CA', :c, :rec, :ack, :due, 0, 0, 0, "
                ":keep)"
            ),
            [
                {
                    "o": org_id,
                    "r": f"R-B{i:011d}",
                    "s": "verifying" if i % 4 else "completed",
                    "c": secrets.token_hex(32),
                    "rec": sqlite_time(received - dt.timedelta(minutes=i)),
                    "ack": sqlite_time(received + dt.timedelta(days=10)),
                    "due": sqlite_time(received + dt.timedelta(days=45) - dt.timedelta(minutes=i)),
                    "keep": sqlite_time(received + dt.timedelta(days=730)),
                }
                for i in range(requests * 4 // 3 + 1)
            ],
        )
        if db.dialect == "postgresql":  # the ids given above did not move the sequence
            conn.execute(text("SELECT setval(pg_get_serial_sequence('vault_subjects', 'id'), "
                              "(SELECT max(id) FROM vault_subjects))"))  # fmt: skip
        conn.execute(text("ANALYZE"))


def make_target(rt, org_id: int, records: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    email = f"target-{secrets.token_hex(6)}@example.test"
    rules = CollectionRules(None, {}, frozenset(), None)
    with rt.db.session() as session:
        subject = upsert_subject(
            session, rt.vault_keys, org_id, [IdentityInput(IdentityKind.EMAIL, email)], ACTOR, rules
        ).subject
        dek = rt.vault_keys.data_key(org_id, subject.key_id)
        from honorbound.vault.models import Record

        collected = dt.datetime.now(dt.UTC)
        session.add_all(
            Record(
                organization_id=org_id,
                subject_id=subject.id,
                category=CATEGORIES[i % len(CATEGORIES)],
                purposes=["support"],
                source="directly",
                collected_at=collected,
                value_sealed=seal_text(
                    dek,
                    org_id,
                    subject.key_id,
                    f"record:{CATEGORIES[i % len(CATEGORIES)]}",
                    f"value {i} {secrets.token_hex(8)}",
                ),
            )
            for i in range(records)
        )
        return subject.id, email


def verified_request(rt, svc: Services, org_id: int, email: str, kind: RequestType) -> int:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        request = take_request(
            session, svc, org_id, NewRequest(kind, "CA", Manner.PORTAL, email=email), ACTOR
        ).request
        request.status = Status.IN_PROGRESS.value
        request.verified_at = dt.datetime.now(dt.UTC)
        return request.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=300_000)
    parser.add_argument("--records", type=int, default=3_000_000)
    parser.add_argument("--target-records", type=int, default=1_000)
    parser.add_argument("--open-requests", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite file)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hb-bench-rights-"))
    url, drop = throwaway_database(args.database_url, workdir, "rights")
    try:
        run(args, url, workdir)
    finally:
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, url: str, workdir: Path) -> None:
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        keystore_url=f"sqlite:///{workdir / 'keys.db'}",
        master_key=secrets.token_hex(32),
        base_url="http://bench.invalid",
    )
    migrate.upgrade(settings.database_url)
    rt = build_runtime(settings)
    svc = Services.build(rt.keys, rt.vault_keys, None, settings.base_url, rt.rules)
    with rt.db.session() as session:
        org_id = create_organization(session, "bench", "Bench Inc", ACTOR).id
    started = time.perf_counter()
    bulk_load(rt.db, org_id, args.subjects, args.records, args.open_requests)
    load_s = time.perf_counter() - started
    print(
        f"loaded {args.subjects:,} subjects, {args.records:,} records in {load_s:.0f} s", flush=True
    )

    targets = [make_target(rt, org_id, args.target_records) for _ in range(args.repeat)]

    access_ms, access_cpu_ms = [], []
    access_request = verified_request(rt, svc, org_id, targets[0][1], RequestType.ACCESS_SPECIFIC)
    for _ in range(args.repeat):
        with rt.db.session() as session:
            request = session.get(RightsRequest, access_request)
            assert request is not None
            org_name = organization(session, org_id).name
            t0, c0 = time.perf_counter(), time.process_time()
            package = build_package(session, rt.vault_keys, svc.laws, request, org_name)
            access_ms.append((time.perf_counter() - t0) * 1000)
            access_cpu_ms.append((time.process_time() - c0) * 1000)
    assert package.records == args.target_records, package.records

    delete_ms = []
    for subject_id, email in targets:
        request_id = verified_request(rt, svc, org_id, email, RequestType.DELETE)
        t0 = time.perf_counter()
        with rt.db.session() as session:
            outcome = execute(session, svc, org_id, request_id, ACTOR)
        delete_ms.append((time.perf_counter() - t0) * 1000)
        assert outcome == "erased", outcome
        del subject_id

    list_ms = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with rt.db.session() as session:
            rows = list_requests(session, org_id, open_only=True, limit=args.open_requests)
            listed = [(r.id, r.reference, r.type, r.status, r.due_at) for r in rows]
        list_ms.append((time.perf_counter() - t0) * 1000)
    assert len(listed) == args.open_requests, len(listed)
    rt.close()
    print(
        f"database={rt.db.dialect} subjects={args.subjects} records={args.records} "
        f"target_records={args.target_records} load_s={load_s:.0f} "
        f"access_package_ms_median={statistics.median(access_ms):.0f} "
        f"access_package_cpu_ms_median={statistics.median(access_cpu_ms):.0f} "
        f"access_package_ms_max={max(access_ms):.0f} package_kb={len(package.content) // 1024} "
        f"delete_ms_median={statistics.median(delete_ms):.0f} delete_ms_max={max(delete_ms):.0f} "
        f"list_open_{args.open_requests}_ms_median={statistics.median(list_ms):.1f} "
        f"list_ms_max={max(list_ms):.1f}"
    )


if __name__ == "__main__":
    main()
