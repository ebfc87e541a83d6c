"""`honorbound ingest FILE`: interactions per second from an NDJSON file, end to end.

    .venv/bin/python bench/ingest.py                  # 2,000 lines
    .venv/bin/python bench/ingest.py --lines 50000

Builds a throw-away SQLite installation (one organization, the example contact-center policy,
`--subjects` vault subjects), writes `--lines` NDJSON lines of generated chat, email and SMS
texts (Faker; one line in 20 refused on purpose: an unknown channel), then runs the
command as a user would (`python -m honorbound ingest FILE --org bench --results OUT`) and
times it; an empty file is timed too, so the figure without process start-up is printed as
well. Removes its database at the end. Figures are printed last as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faker import Faker  # noqa: E402

from honorbound.accounts.service import create_organization  # noqa: E402
from honorbound.audit import Actor  # noqa: E402
from honorbound.config import Settings  # noqa: E402
from honorbound.db import migrate  # noqa: E402
from honorbound.policy.store import adopt_text  # noqa: E402
from honorbound.runtime import build_runtime  # noqa: E402
from honorbound.vault.identities import IdentityKind  # noqa: E402
from honorbound.vault.rules import current_rules  # noqa: E402
from honorbound.vault.subjects import IdentityInput, upsert_subject  # noqa: E402


def run(env: dict[str, str], source: Path, out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "honorbound", "ingest", str(source), "--org", "bench",
         "--results", str(out)],
        env=env, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"honorbound ingest failed ({done.returncode}): {done.stderr[-500:]}")
    return took, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000)
    parser.add_argument("--subjects", type=int, default=200)
    args = parser.parse_args()
    if args.lines < 1 or args.subjects < 1:
        parser.error("--lines and --subjects must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="hb-bench-ingest-"))
    try:
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
        fake = Faker("en_US")
        fake.seed_instance(22)
        policy = ROOT / "examples" / "policies" / "contact-center-1-2024.yaml"
        with rt.db.session() as session:
            org = create_organization(session, "bench", "Bench", Actor.system()).id
        with rt.db.session() as session:
            adopt_text(session, org, policy.read_text(encoding="utf-8"), Actor.system(),
                       filename=policy.name, jobs=rt.jobs)  # fmt: skip
        with rt.db.session() as session:
            rules = current_rules(session, org, rt.rules)
            assert rules is not None
            subjects = [
                upsert_subject(session, rt.vault_keys, org,
                               [IdentityInput(IdentityKind.EMAIL, f"bench{i}@example.com")],
                               Actor.system(), rules, subject_type="user").subject.id
                for i in range(args.subjects)
            ]  # fmt: skip
        rt.close()
        source, empty, out = tmp / "in.ndjson", tmp / "empty.ndjson", tmp / "out.ndjson"
        with source.open("w", encoding="utf-8") as f:
            for i in range(args.lines):
                line = {
                    "subject_id": subjects[i % len(subjects)],
                    "channel": "pigeon" if i % 20 == 19 else ("chat", "email", "sms")[i % 3],
                    "direction": "inbound",
                    "started_at": "2026-11-20T10:00:00Z",
                    "text": fake.paragraph(nb_sentences=8),
                }
                f.write(json.dumps(line) + "\n")
        empty.write_bytes(b"")
        env = {
            **os.environ,
            "HONORBOUND_DATABASE_URL": settings.database_url,
            "HONORBOUND_KEYSTORE_URL": settings.keystore_url,
            "HONORBOUND_MASTER_KEY": settings.master_key,
            "HONORBOUND_DATA_DIR": str(settings.data_dir),
            "HONORBOUND_BASE_URL": settings.base_url,
        }
        startup, _ = run(env, empty, out)
        print(f"start-up (empty file): {startup:.2f} s", flush=True)
        took, code = run(env, source, out)
        results = [json.loads(x) for x in out.read_text().splitlines()]
        stored = sum(1 for r in results if r["status"] == 201)
        assert len(results) == args.lines and code == (1 if stored < args.lines else 0)
        print(f"{args.lines} lines in {took:.2f} s, {stored} stored", flush=True)
        print(
            f"lines={args.lines} stored={stored} seconds={took:.2f} startup_s={startup:.2f} "
            f"items_per_s={args.lines / took:.0f} "
            f"items_per_s_after_startup={args.lines / (took - startup):.0f}"
            if took > startup
            else "items_per_s_after_startup=n/a"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
