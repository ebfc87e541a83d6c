"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when
HONORBOUND_TEST_DATABASE_URL names a server), the real ASGI app, a real SMTP server on loopback.
"""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from honorbound.accounts.roles import Role
from honorbound.accounts.service import create_organization, issue_api_key
from honorbound.api.app import create_app
from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.db import migrate
from honorbound.policy.store import AdoptedPolicy, adopt_text
from honorbound.runtime import Runtime, build_runtime
from tests.support.smtp import SmtpSink

# rt, api and the SMTP sink's log filter, shared by the rights, breach and systems tests.
pytest_plugins = ["tests.support.app"]

# Property tests draw new examples on every local run (and keep the failures they find in
# .hypothesis/); under CI (`CI` set, as `.ci/run` is started) they draw a fixed sequence, so a
# run's verdict depends on the code, not on the draw. Known failing draws are pinned as tests
# of their own (e.g. tests/detect/test_no_partial.py's FORMER_LEAKS), not left to chance.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
# Under pytest-xdist each worker process logs to its own file and checks its own values.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
LOG_FILE = OUTPUT / (f"test-run-{WORKER}.log" if WORKER else "test-run.log")
LEAKS = OUTPUT / "leaks"


@pytest.fixture(scope="session", autouse=True)
def _log_everything() -> Iterator[None]:
    """Write every log record of the run (DEBUG and up) to test-output/test-run*.log, in the
    production JSON format, so the session-end check can grep it for personal data."""
    import logging

    from honorbound.logging_setup import JsonFormatter

    LOG_FILE.parent.mkdir(exist_ok=True)
    handler = logging.FileHandler(LOG_FILE, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # httpx here is the test's own HTTP client (playing the browser); it logs full URLs. The
    # loopback SMTP server (aiosmtpd, "mail.log") logs recipients: both stand outside the app.
    for name in ("httpx", "httpx2", "mail.log"):
        logging.getLogger(name).setLevel(logging.WARNING)
    yield
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def _leaked_here() -> int:
    """How many personal values issued by tests.support.people in this process reached its log."""
    from tests.support.people import ISSUED

    if not LOG_FILE.exists() or not ISSUED:
        return 0
    text = LOG_FILE.read_text(encoding="utf-8", errors="replace").lower()
    return sum(1 for v in ISSUED if len(v) >= 6 and v.lower() in text)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not WORKER and LEAKS.exists():
        shutil.rmtree(LEAKS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any personal value issued by tests.support.people reached the log. An
    xdist worker writes its count to test-output/leaks/; the controller adds them up."""
    if WORKER:
        LEAKS.mkdir(parents=True, exist_ok=True)
        (LEAKS / f"{WORKER}.txt").write_text(str(_leaked_here()), encoding="ascii")
        return
    leaked = _leaked_here()
    if LEAKS.exists():
        leaked += sum(int(f.read_text(encoding="ascii")) for f in LEAKS.glob("*.txt"))
    if leaked:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"PERSONAL DATA IN LOGS: {leaked} test value(s) found in {OUTPUT}/test-run*.log"
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        session.exitstatus = 1


PG_URL = os.environ.get("HONORBOUND_TEST_DATABASE_URL", "")
TEMPLATE_DB = f"honorbound_template_{WORKER or 'main'}"


def _pg_admin_url() -> str:
    return make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database that each test copies (fast, and proves the migrations)."""
    if PG_URL:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"'))
            conn.execute(text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
        admin.dispose()
        migrate.upgrade(
            make_url(PG_URL).set(database=TEMPLATE_DB).render_as_string(hide_password=False)
        )
        return TEMPLATE_DB
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        target = tmp_path / "honorbound.db"
        shutil.copy(_template, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        keystore_url=f"sqlite:///{tmp_path / 'keys.db'}",
        master_key=secrets.token_hex(32),
        base_url="http://testserver",
        # Plain HTTP on loopback (the test client and the browser tests' 127.0.0.1 server).
        secure_cookies=False,
        # Two-factor sign-in is tested on its own (tests/web/test_staff_accounts*.py), with
        # the default roles; elsewhere a staff member signs in with a password only.
        two_factor_roles=[],
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, immediate_jobs=True)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Tenant:
    """An organization with an API key per role, for calling the API as that role."""

    id: int
    slug: str
    keys: dict[Role, str]

    def headers(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_tenant(runtime: Runtime, slug: str) -> Tenant:
    actor = Actor("test", "system")
    with runtime.db.session() as session:
        org = create_organization(session, slug, f"Org {slug}", actor)
        keys = {
            role: issue_api_key(session, org.id, role, f"{role} key", actor)[1] for role in Role
        }
    return Tenant(org.id, slug, keys)


@pytest.fixture
def tenant(runtime: Runtime) -> Tenant:
    return make_tenant(runtime, "org-a")


@pytest.fixture
def other_tenant(runtime: Runtime) -> Tenant:
    return make_tenant(runtime, "org-b")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


EXAMPLE_POLICIES = Path(__file__).resolve().parents[1] / "examples" / "policies"


def adopt_example(
    runtime: Runtime, organization_id: int, name: str = "contact-center-1-2024"
) -> AdoptedPolicy:
    """Adopt `examples/policies/<name>.yaml` for an organization; returns the AdoptedPolicy."""
    path = EXAMPLE_POLICIES / f"{name}.yaml"
    with runtime.db.session() as session:
        adopted, _ = adopt_text(
            session,
            organization_id,
            path.read_text(encoding="utf-8"),
            Actor("test", "system"),
            filename=path.name,
            jobs=runtime.jobs,
        )
    return adopted


@pytest.fixture
def adopted_policy(runtime: Runtime, tenant: Tenant) -> AdoptedPolicy:
    """The Contact Center 1 example declaration, adopted for `tenant`."""
    return adopt_example(runtime, tenant.id)
