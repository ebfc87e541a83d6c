"""The web server on SQLite does not load what it does not use: the job queue's Redis and
PostgreSQL clients, alembic (migrations; `serve` loads the CLI module that runs them), the
holidays package (deadlines, calling hours: read on first use) and httpx (SMS sending, worker
only). Each was tens of MB resident at idle. A fresh interpreter builds the command line and
the app exactly as `honorbound serve` does and lists its modules; the same interpreter then
counts a deadline, so the lazy import is shown to still work."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

NOT_LOADED = ("redis", "psycopg", "alembic", "holidays", "httpx")

SCRIPT = """
import json, sys
from honorbound.api.app import create_app
from honorbound.cli import build_app
from honorbound.cli.common import runtime, settings
build_app()  # `honorbound serve` builds the whole command line first
rt = runtime(loaded=settings(), transports=False)
app = create_app(rt)
names = %r
loaded = {name: name in sys.modules for name in (*names, "sqlalchemy", "huey.storage")}
import datetime as dt
from honorbound.rights.clock import is_business_day
from honorbound.rights.intake import us_states
loaded["christmas_is_a_business_day"] = is_business_day(dt.date(2026, 12, 25))
loaded["holidays_after_use"] = "holidays" in sys.modules
loaded["states"] = len(us_states())
# A Redis queue built later in the same process gets the client huey skipped back.
from honorbound.jobs.backends import huey_api
queue = huey_api(redis=True).RedisHuey("probe", url="redis://127.0.0.1:9")
loaded["redis_queue"] = type(queue.storage.conn).__module__
rt.close()
print(json.dumps(loaded))
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    out.update(
        HONORBOUND_DATA_DIR=str(tmp_path / "data"),
        HONORBOUND_DATABASE_URL=f"sqlite:///{tmp_path / 'hb.db'}",
        HONORBOUND_MASTER_KEY=secrets.token_hex(32),
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    return out


def test_serving_on_sqlite_loads_none_of_them(env: dict[str, str], tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT % (NOT_LOADED,)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert {name: loaded[name] for name in NOT_LOADED} == dict.fromkeys(NOT_LOADED, False)
    # The probe sees what is loaded (the server's own database layer and job queue are).
    assert loaded["sqlalchemy"] and loaded["huey.storage"]
    # Read on first use, and right: Christmas is a federal holiday; 50 states and DC.
    assert loaded["christmas_is_a_business_day"] is False
    assert loaded["holidays_after_use"] and loaded["states"] == 51
    assert loaded["redis_queue"].startswith("redis")
